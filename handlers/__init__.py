"""Lambda handlers, one subpackage per system; packaged per system by infra/lambda_archives.py."""
