"""Media front ends: audio (WAV, FLAC through soundfile, LPC residuals), images (PNG, PNM, pixel
predictors) and video (Y4M). Each module registers its front end with compress.core.frontends on
import (audio_compact, image_compact and video_compact register their extras' compact header codecs with
compress.core.compact);
importing this package registers them all. They use the core only, never train/ or
evaluation/.
"""

from compress.media import audio, audio_compact, image, image_compact, video, video_compact  # noqa: F401  (each registers itself)
