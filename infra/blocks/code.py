"""The handler archives and the shared dependency layer, built once per program run."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra import lambda_archives
from infra.blocks.naming import physical_name
from infra.platform import ARCHITECTURE, RUNTIME


class HandlerCode(pulumi.ComponentResource):
    """Builds each system's code archive and publishes the dependency layer they share."""

    layer_arn: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("conduit:blocks:HandlerCode", name, None, opts)
        out_dir = lambda_archives.DEFAULT_BUILD_DIR
        self._archives = {s: lambda_archives.build_code_archive(s, out_dir) for s in lambda_archives.systems()}
        layer_zip = lambda_archives.build_layer(out_dir)
        layer = aws.lambda_.LayerVersion(
            "dependencies",
            layer_name=physical_name("dependencies", kind="layer"),
            description="Third-party packages of the handlers (handlers/requirements.txt)",
            code=pulumi.FileArchive(str(layer_zip.path)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.layer_arn = layer.arn
        self.register_outputs({"layerArn": self.layer_arn})

    def archive(self, system: str) -> pulumi.FileArchive:
        """The code archive of one `handlers/<system>` package."""
        return pulumi.FileArchive(str(self._archives[system].path))
