"""Independent, loop-by-loop numpy formulations of the ops, written from the PyTorch docs.

The reference interpreter is tested against these; they share no code with runtime/ref_ops.py.
Slow on purpose: every output element is computed from its definition.
"""

from __future__ import annotations

import math

import numpy as np


def conv2d(x, w, b, stride, pad, dilation, groups):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (top, left, bottom, right), (dh, dw) = stride, pad, dilation
    ho = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + left + right - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    y = np.zeros((n, o, ho, wo), dtype=np.float64)
    for ni in range(n):
        for oc in range(o):
            g = oc // og
            for oy in range(ho):
                for ox in range(wo):
                    acc = 0.0 if b is None else float(b[oc])
                    for ci in range(cg):
                        for ky in range(kh):
                            for kx in range(kw):
                                iy = oy * sh - top + ky * dh
                                ix = ox * sw - left + kx * dw
                                if 0 <= iy < h and 0 <= ix < wd:
                                    acc += x[ni, g * cg + ci, iy, ix] * w[oc, ci, ky, kx]
                    y[ni, oc, oy, ox] = acc
    return y


def _out_len(size, k, s, lo, hi, d, ceil_mode):
    span = d * (k - 1) + 1
    if ceil_mode:
        out = math.ceil((size + lo + hi - span) / s) + 1
        if (out - 1) * s >= size + lo:
            out -= 1
        return out
    return (size + lo + hi - span) // s + 1


def maxpool2d(x, kernel, stride, pad, dilation, ceil_mode):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (top, left, bottom, right), (dh, dw) = kernel, stride, pad, dilation
    ho = _out_len(h, kh, sh, top, bottom, dh, ceil_mode)
    wo = _out_len(w, kw, sw, left, right, dw, ceil_mode)
    y = np.full((n, c, ho, wo), -np.inf)
    for oy in range(ho):
        for ox in range(wo):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * sh - top + ky * dh, ox * sw - left + kx * dw
                    if 0 <= iy < h and 0 <= ix < w:
                        y[:, :, oy, ox] = np.maximum(y[:, :, oy, ox], x[:, :, iy, ix])
    return y


def avgpool2d(x, kernel, stride, pad, ceil_mode, count_include_pad):
    """PyTorch's AvgPool2d: the window is clipped to input+padding, then (optionally) to input."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (top, left, bottom, right) = kernel, stride, pad
    ho = _out_len(h, kh, sh, top, bottom, 1, ceil_mode)
    wo = _out_len(w, kw, sw, left, right, 1, ceil_mode)
    y = np.zeros((n, c, ho, wo))
    for oy in range(ho):
        for ox in range(wo):
            y0, x0 = oy * sh - top, ox * sw - left
            y1, x1 = min(y0 + kh, h + bottom), min(x0 + kw, w + right)
            size = (y1 - y0) * (x1 - x0)
            y0c, x0c, y1c, x1c = max(y0, 0), max(x0, 0), min(y1, h), min(x1, w)
            if not count_include_pad:
                size = (y1c - y0c) * (x1c - x0c)
            y[:, :, oy, ox] = x[:, :, y0c:y1c, x0c:x1c].sum(axis=(2, 3)) / size
    return y


def softmax_rows(x):
    out = np.empty_like(x, dtype=np.float64)
    for i in range(x.shape[0]):
        e = [math.exp(v - max(x[i])) for v in x[i]]
        out[i] = [v / sum(e) for v in e]
    return out


def cross_entropy(logits, labels):
    p = softmax_rows(logits)
    return sum(-math.log(p[i, labels[i]]) for i in range(len(labels))) / len(labels)
