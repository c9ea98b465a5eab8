#ifndef CANDOR_IMAGE_CODECS_H
#define CANDOR_IMAGE_CODECS_H

// A small C layer over libpng and libjpeg for CandorImage. Both libraries report fatal errors
// by longjmp out of a callback, which Swift cannot survive, so every setjmp lives here and each
// function returns a status code with a message instead. The caller reads the header first,
// checks the size against its pixel budget, and hands in the output buffer; the decoders' own
// working memory is bounded by that size (libjpeg's buffers, a 16-bit row buffer for 16-bit
// grey PNGs) or by fixed caps (PNG metadata chunks are skipped or capped at 1 MiB each, JPEG
// at 500 progressive scans and 512 MiB of libjpeg memory).

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CANDOR_IMAGE_OK = 0,
    /// The bytes are not a valid file of the format (truncated, bad checksum, bad data).
    CANDOR_IMAGE_CORRUPT = 1,
    /// A valid file using a feature Candor does not decode (e.g. a CMYK JPEG).
    CANDOR_IMAGE_UNSUPPORTED = 2,
    /// The caller's arguments were inconsistent (a buffer of the wrong size) or memory ran out.
    CANDOR_IMAGE_INTERNAL = 3,
} candor_image_status;

/// What the header of a file says, without decoding pixels.
typedef struct {
    uint32_t width;
    uint32_t height;
    /// Whether Pillow would open the file in a greyscale mode (1, L, LA, I;16): decoded to one
    /// channel, else to three (RGB).
    int is_grey;
    /// Whether the file carries an alpha channel or a transparency (tRNS) entry, which
    /// `keep_alpha` decoding turns into a fourth (or second) channel.
    int has_alpha;
} candor_image_header;

/// The message buffer every call fills on failure: a sentence fragment from the library.
#define CANDOR_IMAGE_MESSAGE_SIZE 200

candor_image_status candor_png_read_header(const uint8_t *data, size_t size, candor_image_header *header,
                                           char message[CANDOR_IMAGE_MESSAGE_SIZE]);

/// Decodes to 8-bit interleaved rows, top first, into `pixels` (width*height*channels bytes).
/// Text, ICC, sPLT and EXIF chunks are skipped unread (only their CRCs are checked); any other
/// non-IDAT chunk longer than 1 MiB fails as corrupt.
/// `channels` must be 1 (grey files) or 3, plus one when `keep_alpha` and the file has alpha.
/// Palette and low bit depths are expanded, 16-bit samples keep their high byte — except 16-bit
/// greyscale without alpha, which is clipped to 255 as Pillow's I;16 → L conversion does.
candor_image_status candor_png_decode(const uint8_t *data, size_t size, int keep_alpha, uint8_t *pixels,
                                      size_t pixels_size, int channels, char message[CANDOR_IMAGE_MESSAGE_SIZE]);

/// Encodes 8-bit interleaved pixels (1 grey, 2 grey+alpha, 3 RGB or 4 RGBA channels) as a
/// non-interlaced PNG with libpng's default filters and zlib compression. On success `*output`
/// is a malloc'd buffer the caller frees with `candor_image_free`.
candor_image_status candor_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                                      uint8_t **output, size_t *output_size, char message[CANDOR_IMAGE_MESSAGE_SIZE]);

candor_image_status candor_jpeg_read_header(const uint8_t *data, size_t size, candor_image_header *header,
                                            char message[CANDOR_IMAGE_MESSAGE_SIZE]);

/// Decodes with libjpeg's defaults (as Pillow does: islow DCT, fancy upsampling) to grey
/// (1 channel, for one-component files) or RGB (3). A truncated or damaged scan, which libjpeg
/// would only warn about and pad with grey, fails with CANDOR_IMAGE_CORRUPT; warnings that leave
/// the pixels intact (stray bytes before a marker, anything after the last scanline) do not.
/// A progressive file with more than 500 scans, or one needing more than 512 MiB of libjpeg's
/// memory, fails with CANDOR_IMAGE_CORRUPT.
candor_image_status candor_jpeg_decode(const uint8_t *data, size_t size, uint8_t *pixels, size_t pixels_size,
                                       int channels, char message[CANDOR_IMAGE_MESSAGE_SIZE]);

void candor_image_free(void *pointer);

#endif
