"""Physical names: every resource a stack creates starts with `conduit-<stack>-`."""

import pulumi


def physical_name(*parts: str) -> str:
    """A name that is unique per stack and readable in the AWS console."""
    return "-".join(("conduit", pulumi.get_stack(), *parts))
