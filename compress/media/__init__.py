"""Media front ends: audio (WAV, FLAC through soundfile, LPC residuals), images (PNG, PNM, pixel
predictors) and video (Y4M). Each module registers its front end with compress.core.frontends on
import; importing this package registers them all. They use the core only, never train/ or
evaluation/.
"""

from compress.media import audio, image, video  # noqa: F401  (each calls frontends.register)
