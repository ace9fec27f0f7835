/*
 * QR codes as SVG: libqrencode makes the module matrix, this file draws it.
 */
#include "base/qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <string.h>

/* The longest run command: "M177 177h177v1h-177z" is 20 characters. */
#define RUN_MAX 24

err qr_svg(arena *a, const char *text, char **svg_r, size_t *len_r)
{
    size_t tn = text ? strlen(text) : 0;
    if (tn == 0 || tn > QR_TEXT_MAX)
        return err_set(E_INPUT, "qr_too_long", NULL, "二维码内容为空或过长");
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!q)
        return errno == ERANGE ? err_set(E_INPUT, "qr_too_long", NULL, "二维码内容过长")
                               : err_set(E_NOMEM, NULL, NULL, NULL);
    int w = q->width, size = w + 2 * QR_QUIET;

    /* Count the runs of dark modules first, so the buffer is sized once. */
    size_t runs = 0;
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            if ((q->data[y * w + x] & 1) && (x == 0 || !(q->data[y * w + x - 1] & 1)))
                runs++;

    size_t cap = 256 + runs * RUN_MAX, n = 0;
    char *out = arena_alloc(a, cap);
    n += (size_t)snprintf(out, cap,
                          "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                          "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
                          "fill=\"#fff\"/><path fill=\"#000\" d=\"",
                          size, size, size, size);
    for (int y = 0; y < w; y++) {
        for (int x = 0; x < w;) {
            if (!(q->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int x0 = x;
            while (x < w && (q->data[y * w + x] & 1))
                x++;
            n += (size_t)snprintf(out + n, cap - n, "M%d %dh%dv1h-%dz", x0 + QR_QUIET, y + QR_QUIET,
                                  x - x0, x - x0);
        }
    }
    n += (size_t)snprintf(out + n, cap - n, "\"/></svg>");
    QRcode_free(q);
    *svg_r = out;
    if (len_r)
        *len_r = n;
    return E_OK;
}
