from django.apps import AppConfig


class ControccSyncConfig(AppConfig):
    """The portal's side of the back-office link: client, outbox, sync tasks (issue #5).

    The explicit lowercase label keeps table names free of quoting.
    """

    name = "contrOCC_sync"
    label = "controcc_sync"
    verbose_name = "Back-office link"
