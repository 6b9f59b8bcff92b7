"""Images Custom Vision keeps in blob storage: the digest of a stored Quick Test image.

A stored prediction carries ``originalImageUri``, a blob address whose SAS token grants read access by
itself, so no key or token is sent (never the training key: the blob is another host). The image is read
through azure-core's pipeline, the official SDKs' own HTTP layer, with its retries switched off: the
validator's :class:`~validator.azure.budget.RetryPolicy` retries within the validation's time budget, and
each read counts as one Azure call.
"""

from __future__ import annotations

import hashlib

from azure.core import PipelineClient
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from .arm import ArmGateway

OPERATION = "GetStoredImage"
MAX_BYTES = 8 * 1024 * 1024  # Custom Vision accepts images up to 4 MB (6 MB for some tiers): anything bigger is not one


def image_digest(arm: ArmGateway, uri: str) -> str:
    """The SHA-256 hex digest of the image at ``uri``; raises ``AzureCallError`` when it cannot be read."""
    verify = arm.azure.profile.verify

    def fetch(timeout: float) -> str:
        # One client per read (the address is absolute and differs per image; the pipeline is cheap to build)
        # over the runtime's shared connections.
        with PipelineClient(uri, retry_total=0, transport=arm.runtime.connections.transport(verify)) as client:
            response = client.send_request(HttpRequest("GET", uri), stream=True,
                                           connection_timeout=timeout, read_timeout=timeout)
            try:
                if response.status_code != 200:
                    response.read()
                    raise HttpResponseError(response=response)
                digest, size = hashlib.sha256(), 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise HttpResponseError(message=f"stored image larger than {MAX_BYTES} bytes",
                                                response=response)
                    digest.update(chunk)
                return digest.hexdigest()
            finally:
                response.close()

    return arm.run(OPERATION, fetch)
