/*
 * A4 PDF documents with Chinese text, lines and QR codes: the printable
 * form of a signed document (a release certificate, later itinerary cards
 * and passes) that a resident downloads, prints or shows.
 *
 * Small on purpose: PDF 1.4, pages of 210 x 297 mm, one font. Chinese is
 * set in STSong-Light, one of the Adobe-GB1 fonts every conforming reader
 * provides without embedding (ISO 32000-1 §9.7.5.2), through the
 * UniGB-UTF16-H CMap, so text is written as UTF-16 and no font file is
 * shipped or parsed; Latin letters and digits are the font's half-width
 * glyphs. QR codes are drawn as filled rectangles, one per run of dark
 * modules, so they stay sharp at any zoom and print size.
 *
 * Coordinates are millimetres from the top-left corner of the page (as a
 * designer measures a form), converted to PDF points from the bottom-left.
 *
 *     pdf *p = pdf_new(a);
 *     pdf_text_center(p, 40, 22, "解除隔离通知书");
 *     pdf_text(p, 25, 70, 12, "姓名：张*丰");
 *     pdf_line(p, 25, 60, 185, 60, 0.5);
 *     if ((e = pdf_qr(p, 80, 200, 50, token)) ||
 *         (e = pdf_finish(p, "解除隔离通知书", &bytes, &n)))
 *         return e;
 *
 * Drawing calls never fail; text that is not valid UTF-8 is drawn with
 * U+FFFD for the bad bytes. Everything lives in the arena.
 */
#ifndef FK_BASE_PDF_H
#define FK_BASE_PDF_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

#define PDF_PAGE_W_MM 210.0
#define PDF_PAGE_H_MM 297.0
#define PDF_PAGES_MAX 64

typedef struct pdf pdf;

/* A document with its first page open. */
pdf *pdf_new(arena *a);

/* Start a new page (ignored past PDF_PAGES_MAX). */
void pdf_page(pdf *p);

/* Text with its baseline at (x, y) mm, `pt` points high. */
void pdf_text(pdf *p, double x_mm, double y_mm, double pt, const char *utf8);

/* Text centred on the page's width. */
void pdf_text_center(pdf *p, double y_mm, double pt, const char *utf8);

/* The width of `utf8` set at `pt` points, in mm (CJK a full em, others half). */
double pdf_text_width(const char *utf8, double pt);

/* A line from (x1, y1) to (x2, y2) mm, `width_pt` points thick. */
void pdf_line(pdf *p, double x1, double y1, double x2, double y2, double width_pt);

/* A QR code of `text` (base/qr.h, level M) as a square `size_mm` wide with
 * its top-left corner at (x, y), quiet zone included. Errors as qr_svg. */
err pdf_qr(pdf *p, double x_mm, double y_mm, double size_mm, const char *text) MUST_USE;

/* The document's bytes (from the arena), with `title` in its information
 * dictionary. E_NOMEM. The document may not be drawn on afterwards. */
err pdf_finish(pdf *p, const char *title, const uint8_t **bytes_r, size_t *n_r) MUST_USE;

#endif
