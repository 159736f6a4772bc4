"""Names for the addresses and network interfaces an answer shows: which instance, which AWS service.

`eni.py` keeps one account and region's network interfaces (EC2), `ip_ranges.py` AWS's published IP
ranges, both cached in Redis; `names.py` loads them within a deadline and names a result's columns. It
knows the catalogue's column kinds and the result types, nothing of Slack, engines or rendering.
"""
