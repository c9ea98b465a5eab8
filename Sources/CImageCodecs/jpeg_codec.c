// JPEG through libjpeg's decompression API. libjpeg's error_exit must not return: it formats
// the message and longjmps back to the setjmp in the function that started the read. Warnings
// (emit_message at level -1) are not printed; the few that mean the pixels are wrong are
// counted, because libjpeg treats a truncated or damaged scan as a warning and pads the rest of
// the image with grey.

#include "candor_image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// After stdio.h: jpeglib.h uses FILE without including it.
#include <jpeglib.h>
#include <jerror.h>

/// Everything changed after setjmp lives on the heap, not in the locals of the function that
/// called setjmp (those are indeterminate after the longjmp, C11 7.13.2.1).
typedef struct {
    struct jpeg_error_mgr manager;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    struct jpeg_decompress_struct info;
    int created;
    int corrupt_warnings;
    /// Set before jpeg_finish_decompress: every pixel has been read, so what libjpeg finds
    /// after the last scan (stray bytes before EOI, a missing EOI) cannot make them wrong.
    int finishing;
    /// More scans than this in a progressive file fail (see jpeg_progress).
    int max_scans;
    char *message;
} jpeg_session;

/// libjpeg-turbo's documented denial of service for progressive JPEGs: every scan costs a pass
/// over the whole coefficient buffer, and a file can hold thousands of tiny scans (each a few
/// bytes), so decoding time grows with the number of scans, not the file's pixels. Real encoders
/// write about ten; djpeg's and TurboJPEG's `-maxscans` guard is the model here.
#define CANDOR_JPEG_MAX_SCANS 500

/// A progressive file may not use more than this much of libjpeg's memory (its whole-image
/// coefficient buffer is 2 bytes a sample: 4096×4096 4:4:4 needs 96 MiB). Beyond it libjpeg
/// fails (JERR_NO_BACKING_STORE) instead of allocating.
#define CANDOR_JPEG_MAX_MEMORY (512L * 1024 * 1024)

static void jpeg_error_exit(j_common_ptr info) {
    jpeg_session *session = (jpeg_session *)info->err;
    char text[JMSG_LENGTH_MAX];
    info->err->format_message(info, text);
    if (session->message[0] != 0) {
        // Set by the caller of error_exit (jpeg_progress).
    } else if (info->err->msg_code == JERR_NO_BACKING_STORE) {
        snprintf(session->message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG needs more than %ld MiB to decode",
                 CANDOR_JPEG_MAX_MEMORY >> 20);
    } else {
        snprintf(session->message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG is corrupt (libjpeg: %s)", text);
    }
    longjmp(session->jump, 1);
}

static void jpeg_emit_message(j_common_ptr info, int level) {
    if (level >= 0) return;  // trace messages
    jpeg_session *session = (jpeg_session *)info->err;
    info->err->num_warnings++;
    int code = info->err->msg_code;
    // Only a truncated or damaged entropy-coded segment makes libjpeg pad or guess pixels:
    // the data ends (JPEG_EOF), a marker interrupts a scan (HIT_MARKER), a restart marker is
    // missing (MUST_RESYNC) or out of order (NOT_SEQUENTIAL). Anything else — stray bytes
    // before a marker (EXTRANEOUS_DATA, common in camera files), an unknown JFIF revision, a
    // bad ICC marker, an odd progression — leaves the pixels as Pillow gives them (Pillow
    // ignores every libjpeg warning). After the last scanline nothing counts (see finishing).
    int truncated = code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER;
    if (session->finishing || !(truncated || code == JWRN_MUST_RESYNC || code == JWRN_NOT_SEQUENTIAL)) return;
    if (session->corrupt_warnings++ == 0 && session->message[0] == 0) {
        char text[JMSG_LENGTH_MAX];
        info->err->format_message(info, text);
        const char *what = truncated ? "truncated" : "corrupt";
        snprintf(session->message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG is %s (libjpeg: %s)", what, text);
    }
}

static void jpeg_output_message(j_common_ptr info) { (void)info; }

/// Called by libjpeg while it reads scans (for a progressive file, all of them inside
/// jpeg_start_decompress): fails once the file has more than `max_scans`.
static void jpeg_progress(j_common_ptr common) {
    jpeg_session *session = (jpeg_session *)common->err;
    j_decompress_ptr info = (j_decompress_ptr)common;
    if (!common->is_decompressor || !info->progressive_mode || info->input_scan_number <= session->max_scans) return;
    if (session->message[0] == 0) {
        snprintf(session->message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG has more than %d progressive scans",
                 session->max_scans);
    }
    common->err->error_exit(common);
}

static void jpeg_session_end(jpeg_session *session) {
    if (session->created) jpeg_destroy_decompress(&session->info);
    free(session);
}

/// Creates the decompressor over `data` and reads the markers up to the first scan.
/// Returns NULL with `*status` set on failure.
static jpeg_session *jpeg_session_begin(const uint8_t *data, size_t size, char *message, candor_image_status *status) {
    message[0] = 0;
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) {
        snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG start-of-image marker is missing");
        *status = CANDOR_IMAGE_CORRUPT;
        return NULL;
    }
    jpeg_session *session = calloc(1, sizeof *session);
    if (session == NULL) {
        snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "out of memory");
        *status = CANDOR_IMAGE_INTERNAL;
        return NULL;
    }
    session->message = message;
    session->info.err = jpeg_std_error(&session->manager);
    session->manager.error_exit = jpeg_error_exit;
    session->manager.emit_message = jpeg_emit_message;
    session->manager.output_message = jpeg_output_message;
    session->progress.progress_monitor = jpeg_progress;
    session->max_scans = CANDOR_JPEG_MAX_SCANS;
    *status = CANDOR_IMAGE_OK;
    return session;
}

/// Creates the decompressor with Candor's limits and points it at `data`. Call after setjmp:
/// jpeg_create_decompress can fail (out of memory) through error_exit.
static void jpeg_session_create(jpeg_session *session, const uint8_t *data, size_t size) {
    struct jpeg_decompress_struct *info = &session->info;
    jpeg_create_decompress(info);
    session->created = 1;
    // jpeg_create_decompress zeroes everything but `err`, so these are set after it.
    info->progress = &session->progress;
    info->mem->max_memory_to_use = CANDOR_JPEG_MAX_MEMORY;
    jpeg_mem_src(info, data, (unsigned long)size);
}

candor_image_status candor_jpeg_read_header(const uint8_t *data, size_t size, candor_image_header *header,
                                            char message[CANDOR_IMAGE_MESSAGE_SIZE]) {
    candor_image_status status;
    jpeg_session *session = jpeg_session_begin(data, size, message, &status);
    if (session == NULL) return status;
    if (setjmp(session->jump)) {
        jpeg_session_end(session);
        return CANDOR_IMAGE_CORRUPT;
    }
    jpeg_session_create(session, data, size);
    if (jpeg_read_header(&session->info, TRUE) != JPEG_HEADER_OK || session->corrupt_warnings > 0) {
        if (message[0] == 0) snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG has no image");
        jpeg_session_end(session);
        return CANDOR_IMAGE_CORRUPT;
    }
    header->width = session->info.image_width;
    header->height = session->info.image_height;
    header->is_grey = session->info.num_components == 1;
    header->has_alpha = 0;
    int components = session->info.num_components;
    jpeg_session_end(session);
    if (components != 1 && components != 3) {
        snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "JPEGs with %d colour components (CMYK) are not supported", components);
        return CANDOR_IMAGE_UNSUPPORTED;
    }
    return CANDOR_IMAGE_OK;
}

candor_image_status candor_jpeg_decode(const uint8_t *data, size_t size, uint8_t *pixels, size_t pixels_size,
                                       int channels, char message[CANDOR_IMAGE_MESSAGE_SIZE]) {
    candor_image_status status;
    jpeg_session *session = jpeg_session_begin(data, size, message, &status);
    if (session == NULL) return status;
    if (setjmp(session->jump)) {
        jpeg_session_end(session);
        return CANDOR_IMAGE_CORRUPT;
    }
    struct jpeg_decompress_struct *info = &session->info;
    jpeg_session_create(session, data, size);
    if (jpeg_read_header(info, TRUE) != JPEG_HEADER_OK || session->corrupt_warnings > 0) {
        if (message[0] == 0) snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG has no image");
        jpeg_session_end(session);
        return CANDOR_IMAGE_CORRUPT;
    }
    if (info->num_components != 1 && info->num_components != 3) {
        snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "JPEGs with %d colour components (CMYK) are not supported",
                 info->num_components);
        jpeg_session_end(session);
        return CANDOR_IMAGE_UNSUPPORTED;
    }
    // libjpeg's defaults are Pillow's: JDCT_ISLOW, fancy upsampling, no block smoothing
    // change for progressive files, no colour quantisation.
    info->out_color_space = info->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    size_t row_size = (size_t)info->image_width * (size_t)(channels > 0 ? channels : 1);
    if (channels != (info->num_components == 1 ? 1 : 3) || info->image_width == 0 || info->image_height == 0 ||
        pixels_size % row_size != 0 || pixels_size / row_size != info->image_height) {
        snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "the pixel buffer does not fit the JPEG");
        jpeg_session_end(session);
        return CANDOR_IMAGE_INTERNAL;
    }
    jpeg_start_decompress(info);
    if (info->output_width != info->image_width || info->output_height != info->image_height ||
        info->output_components != channels) {
        snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "libjpeg's output does not fit the pixel buffer");
        jpeg_session_end(session);
        return CANDOR_IMAGE_INTERNAL;
    }
    while (info->output_scanline < info->output_height && session->corrupt_warnings == 0) {
        JSAMPROW row = pixels + row_size * info->output_scanline;
        if (jpeg_read_scanlines(info, &row, 1) != 1) break;
    }
    if (session->corrupt_warnings == 0 && info->output_scanline == info->output_height) {
        session->finishing = 1;
        jpeg_finish_decompress(info);
    }
    int failed = session->corrupt_warnings > 0 || info->output_scanline != info->output_height;
    if (failed && message[0] == 0) snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG is truncated");
    jpeg_session_end(session);
    return failed ? CANDOR_IMAGE_CORRUPT : CANDOR_IMAGE_OK;
}
