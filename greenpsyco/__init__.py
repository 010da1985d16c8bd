"""greenpsyco: a pure-Python psycopg2 on Twisted and greenlets for existing Django projects.

``import greenpsyco; greenpsyco.patch()`` makes ``import psycopg2`` give greenpsyco's driver.
"""

from greenpsyco.patch import GreenpsycoPatchWarning, is_patched, patch, unpatch

__version__ = "0.1.0.dev0"

__all__ = ["GreenpsycoPatchWarning", "__version__", "is_patched", "patch", "unpatch"]
