"""What the program costs on AWS: the measured usage profile, a dated price table, and the arithmetic."""
