"""The modules that register kinds of scheduled work (each calls :func:`core.scheduling.registry.register`)."""
from core.scheduling import evaluations  # noqa: F401
from core.scheduling import redecide, screening  # noqa: F401
from core.scheduling import digest, referrer  # noqa: F401
from core.scheduling import review  # noqa: F401
from core.scheduling import imports  # noqa: F401
from core.scheduling import exports  # noqa: F401
from core.scheduling import retention  # noqa: F401
from core.usecases import users  # noqa: F401  (invitation and password-reset mails)
from core.usecases import registrations  # noqa: F401  (confirmation mails of public registrations, expiry)
