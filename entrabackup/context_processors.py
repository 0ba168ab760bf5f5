"""Template context shared by every page."""

from entrabackup import __version__


def product(request):
    return {"product_name": "entrabackup", "product_version": __version__}
