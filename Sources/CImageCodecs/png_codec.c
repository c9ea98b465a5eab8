// PNG through libpng's low-level read and write API. libpng reports fatal errors by
// calling the error callback, which must not return: it records the message and longjmps back
// to the setjmp in the function that started the read, which then returns a status code.

#include "candor_image_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    int truncated;
    char *message;
} png_reader;

static void set_message(char *message, const char *text) {
    snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "%s", text);
}

static void png_reader_error(png_structp png, png_const_charp text) {
    png_reader *reader = (png_reader *)png_get_error_ptr(png);
    // The first message is the cause; libpng may report again while unwinding.
    if (reader->message[0] == 0) set_message(reader->message, text);
    png_longjmp(png, 1);
}

static void png_reader_warning(png_structp png, png_const_charp text) {
    // Ancillary-chunk problems (a bad iCCP profile, a bad CRC on a text chunk) are warnings in
    // libpng and Pillow ignores them too; they are neither printed nor fatal.
    (void)png;
    (void)text;
}

static void png_reader_read(png_structp png, png_bytep out, size_t length) {
    png_reader *reader = (png_reader *)png_get_io_ptr(png);
    if (length > reader->size - reader->position) {
        reader->truncated = 1;
        png_error(png, "the data ends early");
    }
    memcpy(out, reader->data + reader->position, length);
    reader->position += length;
}

/// Everything a read changes after setjmp lives on the heap, not in the locals of the function
/// that called setjmp: those would be indeterminate after the longjmp (C11 7.13.2.1).
typedef struct {
    png_reader reader;
    png_structp png;
    png_infop info;
    png_bytep *rows;
    png_bytep wide;
} png_session;

static void png_session_end(png_session *session) {
    free(session->rows);
    free(session->wide);
    if (session->png != NULL) png_destroy_read_struct(&session->png, &session->info, NULL);
    free(session);
}

/// Checks the signature and creates the libpng structures with Candor's callbacks.
static candor_image_status png_session_begin(const uint8_t *data, size_t size, char *message, png_session **out) {
    message[0] = 0;
    *out = NULL;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        set_message(message, "the PNG signature is missing");
        return CANDOR_IMAGE_CORRUPT;
    }
    png_session *session = calloc(1, sizeof *session);
    if (session == NULL) {
        set_message(message, "out of memory");
        return CANDOR_IMAGE_INTERNAL;
    }
    session->reader = (png_reader){data, size, 0, 0, message};
    session->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &session->reader, png_reader_error, png_reader_warning);
    if (session->png != NULL) session->info = png_create_info_struct(session->png);
    if (session->png == NULL || session->info == NULL) {
        png_session_end(session);
        set_message(message, "libpng could not start");
        return CANDOR_IMAGE_INTERNAL;
    }
    // The size limit is the caller's (width*height against its pixel budget); libpng's own
    // default of one million per side would make a large image an error message instead.
    png_set_user_limits(session->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    // Metadata Candor never uses is skipped unread. libpng's defaults would inflate each zTXt,
    // iTXt and iCCP chunk up to 8 MB and keep up to 1000 of them, all inside png_read_info
    // (before the caller's pixel check): gigabytes from a few hundred kilobytes of input.
    // Naming a known chunk with PNG_HANDLE_CHUNK_NEVER makes libpng handle it as an unknown
    // chunk and discard it (only its CRC is checked, nothing is allocated or decompressed);
    // IHDR, PLTE, tRNS, IDAT and IEND cannot be discarded this way and are not in the list.
    static const png_byte unused_chunks[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0";
    png_set_keep_unknown_chunks(session->png, PNG_HANDLE_CHUNK_NEVER, unused_chunks, 6);
    // And for the chunks still read, smaller caps than libpng's: at most 1 MiB per chunk (a
    // non-IDAT chunk longer than that, compressed or not, fails as "chunk data is too large";
    // IDAT has its own limit from the image size) and at most 32 stored chunks.
    png_set_chunk_malloc_max(session->png, 1 << 20);
    png_set_chunk_cache_max(session->png, 32);
    png_set_read_fn(session->png, &session->reader, png_reader_read);
    *out = session;
    return CANDOR_IMAGE_OK;
}

static candor_image_status png_session_fail(png_session *session) {
    png_reader *reader = &session->reader;
    char cause[CANDOR_IMAGE_MESSAGE_SIZE];
    snprintf(cause, sizeof cause, "%s", reader->message);
    snprintf(reader->message, CANDOR_IMAGE_MESSAGE_SIZE, "the PNG is %s (libpng: %s)",
             reader->truncated ? "truncated" : "corrupt", cause);
    png_session_end(session);
    return CANDOR_IMAGE_CORRUPT;
}

static void png_describe(png_structp png, png_infop info, candor_image_header *header) {
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    header->width = png_get_image_width(png, info);
    header->height = png_get_image_height(png, info);
    header->is_grey = (color_type & PNG_COLOR_MASK_COLOR) == 0;
    header->has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0 || png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    // 16-bit grey is clipped, not reduced, and its tRNS entry is not kept (Pillow's I;16 mode
    // has no alpha either).
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 16) header->has_alpha = 0;
    // Pillow opens 16-bit grey+alpha as RGBA (raw mode LA;16B), so it converts to RGB.
    if (color_type == PNG_COLOR_TYPE_GRAY_ALPHA && bit_depth == 16) header->is_grey = 0;
}

candor_image_status candor_png_read_header(const uint8_t *data, size_t size, candor_image_header *header,
                                           char message[CANDOR_IMAGE_MESSAGE_SIZE]) {
    png_session *session;
    candor_image_status status = png_session_begin(data, size, message, &session);
    if (status != CANDOR_IMAGE_OK) return status;
    if (setjmp(png_jmpbuf(session->png))) return png_session_fail(session);
    png_read_info(session->png, session->info);
    png_describe(session->png, session->info, header);
    png_session_end(session);
    return CANDOR_IMAGE_OK;
}

static inline uint8_t clipped_sample(const png_byte *pair) {
    unsigned value = ((unsigned)pair[0] << 8) | pair[1];
    return value > 255 ? 255 : (uint8_t)value;
}

candor_image_status candor_png_decode(const uint8_t *data, size_t size, int keep_alpha, uint8_t *pixels,
                                      size_t pixels_size, int channels, char message[CANDOR_IMAGE_MESSAGE_SIZE]) {
    png_session *session;
    candor_image_status status = png_session_begin(data, size, message, &session);
    if (status != CANDOR_IMAGE_OK) return status;
    if (setjmp(png_jmpbuf(session->png))) return png_session_fail(session);
    png_structp png = session->png;
    png_infop info = session->info;
    png_read_info(png, info);
    candor_image_header header;
    png_describe(png, info, &header);
    int expected = (header.is_grey ? 1 : 3) + (keep_alpha && header.has_alpha ? 1 : 0);
    size_t row_size = (size_t)header.width * (size_t)(channels > 0 ? channels : 1);
    if (channels != expected || header.width == 0 || header.height == 0 || row_size / (size_t)channels != header.width ||
        pixels_size % row_size != 0 || pixels_size / row_size != header.height) {
        png_session_end(session);
        set_message(message, "the pixel buffer does not fit the PNG");
        return CANDOR_IMAGE_INTERNAL;
    }
    int clip16 = png_get_color_type(png, info) == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) == 16;
    if (!clip16) {
        // Palette → RGB, grey below 8 bits → 8 bits (scaled: 1 → 255, as Pillow's "1" → L),
        // tRNS → alpha; 16 → 8 bits keeps the high byte (Pillow's ;16B raw modes do the same).
        png_set_expand(png);
        png_set_strip_16(png);
        if (!header.is_grey && (png_get_color_type(png, info) & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
        if (!keep_alpha) png_set_strip_alpha(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t read_row_size = clip16 ? (size_t)header.width * 2 : row_size;
    if (png_get_rowbytes(png, info) != read_row_size) {
        png_session_end(session);
        set_message(message, "libpng's transformed rows do not fit the pixel buffer");
        return CANDOR_IMAGE_INTERNAL;
    }
    session->rows = malloc(sizeof(png_bytep) * header.height);
    // Pillow opens 16-bit grey as I;16 and converts it to L by clipping at 255: those rows are
    // read wide (big-endian pairs, the whole image, so that interlace passes can combine) and
    // clipped afterwards; every other kind is decoded straight into the caller's buffer.
    if (clip16) session->wide = malloc(read_row_size * header.height);
    if (session->rows == NULL || (clip16 && session->wide == NULL)) {
        png_session_end(session);
        set_message(message, "out of memory");
        return CANDOR_IMAGE_INTERNAL;
    }
    for (uint32_t y = 0; y < header.height; y++) {
        session->rows[y] = clip16 ? session->wide + read_row_size * y : pixels + row_size * y;
    }
    png_read_image(png, session->rows);
    // Reading on to IEND checks the last chunks' CRCs and zlib's Adler-32.
    png_read_end(png, NULL);
    if (clip16) {
        for (uint32_t y = 0; y < header.height; y++) {
            for (uint32_t x = 0; x < header.width; x++) pixels[row_size * y + x] = clipped_sample(session->rows[y] + 2 * x);
        }
    }
    png_session_end(session);
    return CANDOR_IMAGE_OK;
}

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    char *message;
    png_structp png;
    png_infop info;
} png_writer;

static void png_writer_end(png_writer *writer, int failed) {
    if (writer->png != NULL) png_destroy_write_struct(&writer->png, &writer->info);
    if (failed) free(writer->data);
    free(writer);
}

static void png_writer_error(png_structp png, png_const_charp text) {
    png_writer *writer = (png_writer *)png_get_error_ptr(png);
    if (writer->message[0] == 0) set_message(writer->message, text);
    png_longjmp(png, 1);
}

static void png_writer_write(png_structp png, png_bytep bytes, size_t length) {
    png_writer *writer = (png_writer *)png_get_io_ptr(png);
    if (length > writer->capacity - writer->size) {
        size_t capacity = writer->capacity * 2 + length + 4096;
        uint8_t *grown = realloc(writer->data, capacity);
        if (grown == NULL) png_error(png, "out of memory");
        writer->data = grown;
        writer->capacity = capacity;
    }
    memcpy(writer->data + writer->size, bytes, length);
    writer->size += length;
}

static void png_writer_flush(png_structp png) { (void)png; }

candor_image_status candor_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                                      uint8_t **output, size_t *output_size, char message[CANDOR_IMAGE_MESSAGE_SIZE]) {
    static const int color_types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                      PNG_COLOR_TYPE_RGB_ALPHA};
    message[0] = 0;
    *output = NULL;
    *output_size = 0;
    if (channels < 1 || channels > 4 || width == 0 || height == 0) {
        set_message(message, "a PNG needs 1 to 4 channels and at least one pixel");
        return CANDOR_IMAGE_UNSUPPORTED;
    }
    // On the heap for the same reason as png_session: the write callback grows it after setjmp.
    png_writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL) {
        set_message(message, "out of memory");
        return CANDOR_IMAGE_INTERNAL;
    }
    writer->message = message;
    writer->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, writer, png_writer_error, png_reader_warning);
    if (writer->png != NULL) writer->info = png_create_info_struct(writer->png);
    if (writer->png == NULL || writer->info == NULL) {
        png_writer_end(writer, 1);
        set_message(message, "libpng could not start");
        return CANDOR_IMAGE_INTERNAL;
    }
    if (setjmp(png_jmpbuf(writer->png))) {
        png_writer_end(writer, 1);
        return CANDOR_IMAGE_INTERNAL;
    }
    png_structp png = writer->png;
    png_infop info = writer->info;
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_write_fn(png, writer, png_writer_write, png_writer_flush);
    png_set_IHDR(png, info, width, height, 8, color_types[channels - 1], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t row_size = (size_t)width * (size_t)channels;
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + row_size * y));
    png_write_end(png, NULL);
    *output = writer->data;
    *output_size = writer->size;
    png_writer_end(writer, 0);
    return CANDOR_IMAGE_OK;
}

void candor_image_free(void *pointer) { free(pointer); }
