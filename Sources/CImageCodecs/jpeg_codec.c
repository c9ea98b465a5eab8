// JPEG through libjpeg's decompression API. libjpeg's error_exit must not return: it formats
// the message and longjmps back to the setjmp in the function that started the read. Warnings
// (emit_message at level -1) are counted instead of printed, because libjpeg treats a truncated
// or damaged scan as a warning and pads the rest of the image with grey.

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
    jmp_buf jump;
    struct jpeg_decompress_struct info;
    int created;
    int corrupt_warnings;
    char *message;
} jpeg_session;

static void jpeg_error_exit(j_common_ptr info) {
    jpeg_session *session = (jpeg_session *)info->err;
    char text[JMSG_LENGTH_MAX];
    info->err->format_message(info, text);
    if (session->message[0] == 0) snprintf(session->message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG is corrupt (libjpeg: %s)", text);
    longjmp(session->jump, 1);
}

static void jpeg_emit_message(j_common_ptr info, int level) {
    if (level >= 0) return;  // trace messages
    jpeg_session *session = (jpeg_session *)info->err;
    info->err->num_warnings++;
    int code = info->err->msg_code;
    // Warnings about metadata do not make the pixels wrong: an unknown JFIF revision or Adobe
    // transform code, or a bad ICC marker (the profile is not used).
    if (code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC) return;
    if (session->corrupt_warnings++ == 0 && session->message[0] == 0) {
        char text[JMSG_LENGTH_MAX];
        info->err->format_message(info, text);
        const char *what = code == JWRN_JPEG_EOF ? "truncated" : "corrupt";
        snprintf(session->message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG is %s (libjpeg: %s)", what, text);
    }
}

static void jpeg_output_message(j_common_ptr info) { (void)info; }

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
    *status = CANDOR_IMAGE_OK;
    return session;
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
    jpeg_create_decompress(&session->info);
    session->created = 1;
    jpeg_mem_src(&session->info, data, (unsigned long)size);
    if (jpeg_read_header(&session->info, TRUE) != JPEG_HEADER_OK || session->corrupt_warnings > 0) {
        if (message[0] == 0) snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG has no image");
        jpeg_session_end(session);
        return CANDOR_IMAGE_CORRUPT;
    }
    header->width = session->info.image_width;
    header->height = session->info.image_height;
    header->bit_depth = session->info.data_precision;
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
    jpeg_create_decompress(info);
    session->created = 1;
    jpeg_mem_src(info, data, (unsigned long)size);
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
    if (session->corrupt_warnings == 0 && info->output_scanline == info->output_height) jpeg_finish_decompress(info);
    int failed = session->corrupt_warnings > 0 || info->output_scanline != info->output_height;
    if (failed && message[0] == 0) snprintf(message, CANDOR_IMAGE_MESSAGE_SIZE, "the JPEG is truncated");
    jpeg_session_end(session);
    return failed ? CANDOR_IMAGE_CORRUPT : CANDOR_IMAGE_OK;
}
