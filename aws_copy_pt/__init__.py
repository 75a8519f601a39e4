"""aws-copy-pt: land Globus transfers in another AWS account's S3 bucket.

Globus cannot write into a bucket owned by another AWS account, so users transfer into a staging
bucket they own; aws-copy-pt watches that Globus task and then copies exactly the delivered
objects, server-side, into the destination account's bucket, verifying each one.
"""

__version__ = "0.1.0"
