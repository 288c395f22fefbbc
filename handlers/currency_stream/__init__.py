"""Currency stream: an API writes rates; the table's stream is published to SNS; a consumer keeps a view."""
