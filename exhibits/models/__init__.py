from exhibits.models.catalog import Exhibit, Gallery
from exhibits.models.narration import LexiconEntry, Narration, RenderJob, Rendition

__all__ = ["Exhibit", "Gallery", "LexiconEntry", "Narration", "RenderJob", "Rendition"]
