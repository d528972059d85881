from exhibits.models.catalog import Exhibit, Gallery
from exhibits.models.narration import LexiconEntry, Narration, RenderJob, RenderState, Rendition

__all__ = ["Exhibit", "Gallery", "LexiconEntry", "Narration", "RenderJob", "RenderState", "Rendition"]
from exhibits.models.api import ApiKey, SpeechTask  # noqa: E402  (speech API, issue #6)

__all__ += ["ApiKey", "SpeechTask"]
from exhibits.models.history import NarrationVersion  # noqa: E402  (studio history, issue #15)

__all__ += ["NarrationVersion"]
from exhibits.models.analytics import DailyListening, ListeningEvent, ListeningKind  # noqa: E402  (issue #18)

__all__ += ["DailyListening", "ListeningEvent", "ListeningKind"]
