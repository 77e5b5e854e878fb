"""The face-swap service's shared code, shipped to every function in the Lambda layer.

Modules are small and import lazily what only some functions need (Pillow, requests), so that the API function's
cold start stays short.
"""
