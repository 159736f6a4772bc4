"""Setting up AWS: DDL, Glue, the workgroup, IAM policies, the flow-log format."""
