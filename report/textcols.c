// SPDX-License-Identifier: MIT
/* Text in columns (textcols.h): UTF-8 widths, cutting, wrapping. */
#include <string.h>
#include "textcols.h"

int cols_width(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Bytes of s that make its first cols columns, on a character boundary. */
static size_t cols_prefix(const char *s, int cols)
{
	size_t i = 0;

	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && cols-- == 0)
			break;
	return i;
}

void cols_put(FILE *f, const char *s, int width, bool keep_tail, bool pad)
{
	int cols = cols_width(s);

	if (!s)
		s = "";
	if (width < 4)
		width = 4;
	if (cols <= width)
		fprintf(f, "%s%*s", s, pad ? width - cols : 0, "");
	else if (keep_tail)
		fprintf(f, "...%s", s + cols_prefix(s, cols - (width - 3)));
	else
		fprintf(f, "%.*s...", (int)cols_prefix(s, width - 3), s);
}

void cols_wrap(FILE *f, const char *text, int indent, int width)
{
	int col = 0;
	bool line_start = true, first = true;

	if (width < 8)
		width = 8;
	while (text && *text) {
		size_t wlen = strcspn(text, " \t\n");
		char word[512];
		int w;

		if (!text[strspn(text, " \t\n")])
			break;		/* trailing blanks */
		if (*text == '\n') {
			fprintf(f, "\n%*s", indent, "");
			col = 0;
			first = line_start = true;
			text++;
			continue;
		}
		if (*text == ' ' || *text == '\t') {
			/* a line's own indentation (code) is kept */
			if (line_start && col < width / 2) {
				fputc(' ', f);
				col++;
			}
			text++;
			continue;
		}
		line_start = false;
		snprintf(word, sizeof(word), "%.*s",
			 (int)(wlen < sizeof(word) ? wlen : sizeof(word) - 1), text);
		w = cols_width(word);
		if (!first && col + 1 + w > width) {
			fprintf(f, "\n%*s", indent, "");
			col = 0;
			first = true;
		}
		if (!first) {
			fputc(' ', f);
			col++;
		}
		if (col + w > width) {
			cols_put(f, word, width - col, false, false);
			w = width - col;
		} else {
			fputs(word, f);
		}
		col += w;
		first = false;
		text += wlen;
	}
	fputc('\n', f);
}
