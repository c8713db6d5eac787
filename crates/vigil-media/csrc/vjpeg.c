/*
 * Thin shim over the system libjpeg(-turbo) for vigil-media.
 *
 * All libjpeg calls happen here, each exported function guarded by setjmp, so that libjpeg's
 * error_exit longjmps back into C and never unwinds through Rust frames. The Rust side only sees
 * status codes and a formatted message.
 *
 * Warnings about truncated data ("Premature end of JPEG file", "premature end of data segment"),
 * which libjpeg would otherwise paper over with grey fill, are turned into errors.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#define VJ_MSG_LEN 256

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  char msg[VJ_MSG_LEN];
} vj_err;

typedef struct {
  struct jpeg_decompress_struct cinfo;
  vj_err err;
  struct jpeg_progress_mgr progress;
  int max_scans;
} vj_dec;

/* Header information handed to Rust. */
typedef struct {
  unsigned int width;
  unsigned int height;
  int num_components;
  int jpeg_color_space; /* 1 grey, 2 YCbCr, 3 RGB, 4 CMYK, 5 YCCK (J_COLOR_SPACE) */
  int saw_adobe_marker;
  int progressive;
  const unsigned char *exif; /* first APP1 "Exif\0\0" payload (after the 6-byte prefix), or NULL */
  size_t exif_len;
} vj_info;

static void vj_fail(j_common_ptr cinfo) {
  vj_err *e = (vj_err *)cinfo->err;
  char buf[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, buf);
  snprintf(e->msg, VJ_MSG_LEN, "%s", buf);
  longjmp(e->jb, 1);
}

static void vj_error_exit(j_common_ptr cinfo) { vj_fail(cinfo); }

static void vj_emit_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level < 0) {
    int code = cinfo->err->msg_code;
    if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) {
      /* Truncated or cut-short data: libjpeg would fill the rest with grey. Refuse. */
      vj_fail(cinfo);
    }
    cinfo->err->num_warnings++;
  }
  /* trace messages (msg_level >= 0) are ignored */
}

static void vj_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void vj_progress(j_common_ptr cinfo) {
  j_decompress_ptr d = (j_decompress_ptr)cinfo;
  vj_dec *dec = (vj_dec *)d; /* cinfo is the first member */
  if (d->is_decompressor && d->input_scan_number > dec->max_scans) {
    vj_err *e = (vj_err *)cinfo->err;
    snprintf(e->msg, VJ_MSG_LEN, "progressive JPEG has more than %d scans", dec->max_scans);
    longjmp(e->jb, 1);
  }
}

/* Allocates a decoder; NULL when out of memory. */
vj_dec *vj_new(void) {
  /* volatile: `dec` is read after a longjmp back into this frame. */
  vj_dec *volatile dec = (vj_dec *)calloc(1, sizeof(vj_dec));
  if (dec == NULL) return NULL;
  dec->cinfo.err = jpeg_std_error(&dec->err.pub);
  dec->err.pub.error_exit = vj_error_exit;
  dec->err.pub.emit_message = vj_emit_message;
  dec->err.pub.output_message = vj_output_message;
  if (setjmp(dec->err.jb)) {
    jpeg_destroy_decompress(&dec->cinfo);
    free(dec);
    return NULL;
  }
  jpeg_create_decompress(&dec->cinfo);
  dec->max_scans = 1000;
  dec->progress.progress_monitor = vj_progress;
  dec->cinfo.progress = &dec->progress;
  return dec;
}

void vj_free(vj_dec *dec) {
  if (dec == NULL) return;
  jpeg_destroy_decompress(&dec->cinfo);
  free(dec);
}

const char *vj_message(const vj_dec *dec) { return dec->err.msg; }

/* Reads the header. `data` must stay valid until vj_free. Returns 0 on success, -1 on error. */
int vj_read_header(vj_dec *dec, const unsigned char *data, size_t len, long max_memory,
                   vj_info *info) {
  jpeg_saved_marker_ptr m;
  if (setjmp(dec->err.jb)) return -1;
  if (len == 0) {
    snprintf(dec->err.msg, VJ_MSG_LEN, "empty input");
    return -1;
  }
  jpeg_mem_src(&dec->cinfo, data, (unsigned long)len);
  dec->cinfo.mem->max_memory_to_use = max_memory;
  jpeg_save_markers(&dec->cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(&dec->cinfo, TRUE);
  info->width = dec->cinfo.image_width;
  info->height = dec->cinfo.image_height;
  info->num_components = dec->cinfo.num_components;
  info->jpeg_color_space = (int)dec->cinfo.jpeg_color_space;
  info->saw_adobe_marker = dec->cinfo.saw_Adobe_marker ? 1 : 0;
  info->progressive = dec->cinfo.progressive_mode ? 1 : 0;
  info->exif = NULL;
  info->exif_len = 0;
  for (m = dec->cinfo.marker_list; m != NULL; m = m->next) {
    if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
      info->exif = m->data + 6;
      info->exif_len = m->data_length - 6;
      break;
    }
  }
  return 0;
}

/*
 * Decodes the image into `out` (rows of width*components bytes, no padding). `out_color_space`
 * is 1 (grey), 2 (RGB) or 4 (CMYK) as J_COLOR_SPACE; `components` the expected output
 * components. Returns 0 on success, -1 on error.
 */
int vj_decode(vj_dec *dec, int out_color_space, int components, unsigned char *out,
              size_t out_len) {
  size_t stride;
  if (setjmp(dec->err.jb)) return -1;
  dec->cinfo.out_color_space = (J_COLOR_SPACE)out_color_space;
  dec->cinfo.dct_method = JDCT_ISLOW;
  dec->cinfo.do_fancy_upsampling = TRUE;
  dec->cinfo.do_block_smoothing = TRUE;
  dec->cinfo.scale_num = 1;
  dec->cinfo.scale_denom = 1;
  dec->cinfo.quantize_colors = FALSE;
  jpeg_start_decompress(&dec->cinfo);
  if (dec->cinfo.output_components != components ||
      dec->cinfo.output_width != dec->cinfo.image_width ||
      dec->cinfo.output_height != dec->cinfo.image_height) {
    snprintf(dec->err.msg, VJ_MSG_LEN, "unexpected output geometry (%u x %u x %d)",
             dec->cinfo.output_width, dec->cinfo.output_height, dec->cinfo.output_components);
    return -1;
  }
  stride = (size_t)dec->cinfo.output_width * (size_t)components;
  if (stride == 0 || out_len / stride < (size_t)dec->cinfo.output_height) {
    snprintf(dec->err.msg, VJ_MSG_LEN, "output buffer too small");
    return -1;
  }
  while (dec->cinfo.output_scanline < dec->cinfo.output_height) {
    JSAMPROW row = out + (size_t)dec->cinfo.output_scanline * stride;
    if (jpeg_read_scanlines(&dec->cinfo, &row, 1) != 1) {
      snprintf(dec->err.msg, VJ_MSG_LEN, "decoder made no progress");
      return -1;
    }
  }
  /* No jpeg_finish_decompress: every pixel is decoded; a missing EOI after the last scan is not
   * worth refusing the file for. vj_free releases everything. */
  return 0;
}
