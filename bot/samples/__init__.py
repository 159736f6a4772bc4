"""Sample flow logs with planted incidents, in the AWS layouts."""
