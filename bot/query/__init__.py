"""The catalogue of templates, the engines that run them, and what they return."""
