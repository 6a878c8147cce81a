from django.apps import AppConfig


class ContentConfig(AppConfig):
    """Council communication (issue #7): notices of change on providers' home pages, guidance pages."""

    name = "portal.content"
    label = "content"
    verbose_name = "Notices and guidance"
