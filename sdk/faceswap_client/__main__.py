"""`python -m faceswap_client` is the same as the `faceswap` command."""

import sys

from faceswap_client.cli import main

sys.exit(main())
