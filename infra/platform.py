"""The Lambda platform every function runs on, written once for the functions, their layer and the
archive builder: a layer built for another Python or CPU would not load."""

PYTHON = "3.13"
RUNTIME = f"python{PYTHON}"
ARCHITECTURE = "arm64"
WHEEL_PLATFORM = "manylinux2014_aarch64"  # what pip installs the layer's packages for
