"""The intake service: the public request form, the requester's status page and the JSON API
of docs/contract.md, in front of the same services the CLI and the flows use."""
