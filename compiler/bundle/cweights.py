"""The C side of the weights file: reading and checking it, creating a network from it (or from
the copy embedded in the library), saving a network's weights.

Where it sits: a part of the C wrapper (compiler/bundle/csource.py puts it into the library's
source); the format and its constants are declared once, in compiler/bundle/weights.py. The
CRC-32 table is computed here, in Python, so the C needs no initialization.
"""

from __future__ import annotations

from pathlib import Path

from compiler.bundle.spec import BundleSpec


def weights_c(spec: BundleSpec, embedded: Path | None) -> str:
    """The C functions of the weights file; `embedded`: the file the library includes."""
    rows = ",\n".join("    " + ", ".join(f"0x{_crc_entry(i + k):08x}u" for k in range(6)
                                         if i + k < 256) for i in range(0, 256, 6))
    return f"""static const uint32_t crc_table[256] = {{
{rows}
}};

/* CRC-32 as zlib computes it (the checksum of weights files). */
static uint32_t crc32_update(uint32_t crc, const unsigned char *data, size_t size) {{
    crc = ~crc;
    for (size_t i = 0; i < size; i++)
        crc = crc_table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}}

static uint32_t read_u32(const unsigned char *at) {{
    uint32_t v;
    memcpy(&v, at, sizeof v);
    return v;
}}

static uint64_t read_u64(const unsigned char *at) {{
    uint64_t v;
    memcpy(&v, at, sizeof v);
    return v;
}}
""" + _weights(spec, embedded)


def _crc_entry(byte: int) -> int:
    """Entry `byte` of the CRC-32 lookup table (zlib's polynomial, reflected)."""
    crc = byte
    for _ in range(8):
        crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc


def _weights(spec: BundleSpec, embedded: Path | None) -> str:
    p, u = spec.name, spec.name.upper()
    embed = f"""    return fail({u}_ERR_UNSUPPORTED, "{p}: built without --embed-weights");"""
    incbin = ""
    if embedded is not None:
        path = str(embedded.resolve()).replace("\\", "\\\\").replace('"', '\\"')
        incbin = f"""__asm__(".section .rodata\\n.balign 64\\n.globl {p}_embedded_weights\\n"
        ".hidden {p}_embedded_weights\\n{p}_embedded_weights:\\n.incbin \\"{path}\\"\\n"
        ".globl {p}_embedded_end\\n.hidden {p}_embedded_end\\n{p}_embedded_end:\\n.previous\\n");
extern const unsigned char {p}_embedded_weights[], {p}_embedded_end[];
"""
        embed = (f"    return create_from({p}_embedded_weights, (size_t)({p}_embedded_end - "
                 f'{p}_embedded_weights), "the embedded weights", net);')
    return f"""{incbin}
/* Checks a weights file's bytes (weights.py's format) and copies its payload to `region`. */
static int load_weights(const unsigned char *data, size_t size, const char *what,
                        unsigned char *region) {{
    if (size < HEADER_BYTES || memcmp(data, MAGIC, sizeof MAGIC))
        return fail({u}_ERR_WEIGHTS_FORMAT, "%s: not a netc weights file", what);
    if (read_u32(data + 8) != FORMAT_VERSION || read_u32(data + 12) != HEADER_BYTES)
        return fail({u}_ERR_WEIGHTS_VERSION, "%s: weights format version %u; this library "
                    "reads version %u", what, read_u32(data + 8), FORMAT_VERSION);
    if (read_u64(data + 16) != MODEL_ID)
        return fail({u}_ERR_WEIGHTS_MODEL, "%s: weights of another model (or optimizer), "
                    "not of '{spec.model}' as this library was built", what);
    uint64_t payload = read_u64(data + 24);
    if (payload != PAYLOAD_BYTES)
        return fail({u}_ERR_WEIGHTS_SIZE, "%s: %llu bytes of weights, '{spec.model}' has %llu",
                    what, (unsigned long long)payload, (unsigned long long)PAYLOAD_BYTES);
    if (size != WEIGHTS_FILE_BYTES)
        return fail({u}_ERR_WEIGHTS_SIZE, "%s: %zu bytes, a weights file of '{spec.model}' "
                    "has %llu (truncated or extended)", what, size,
                    (unsigned long long)WEIGHTS_FILE_BYTES);
    uint32_t crc = crc32_update(0, data, HEADER_BYTES + PAYLOAD_BYTES);
    if (crc != read_u32(data + HEADER_BYTES + PAYLOAD_BYTES))
        return fail({u}_ERR_WEIGHTS_CHECKSUM, "%s: checksum mismatch (the file is corrupt)",
                    what);
    memcpy(region, data + HEADER_BYTES, PAYLOAD_BYTES);
    return {u}_OK;
}}

/* Reads at most the bytes a weights file of this model has (a huge file of something else
   is never read whole); *size is the file's size, which load_weights checks. */
static int read_file(const char *path, unsigned char **data, size_t *size) {{
    struct stat info;
    if (stat(path, &info) != 0)
        return fail({u}_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(info.st_mode))
        return fail({u}_ERR_IO, "%s: not a regular file", path);
    *size = (size_t)info.st_size;
    size_t wanted = *size < WEIGHTS_FILE_BYTES ? *size : (size_t)WEIGHTS_FILE_BYTES;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail({u}_ERR_IO, "%s: %s", path, strerror(errno));
    *data = malloc(wanted ? wanted : 1);
    if (!*data) {{
        fclose(f);
        return fail({u}_ERR_MEMORY, "%s: out of memory reading %zu bytes", path, wanted);
    }}
    size_t got = fread(*data, 1, wanted, f);
    fclose(f);
    if (got != wanted) {{
        free(*data);
        return fail({u}_ERR_IO, "%s: read %zu of %zu bytes", path, got, wanted);
    }}
    return {u}_OK;
}}

static int create_from(const unsigned char *data, size_t size, const char *what,
                       {p}_net **net);

int {p}_create(const char *weights_path, {p}_net **net) {{
    if (!net)
        return fail({u}_ERR_NULL, "{p}_create: net is NULL");
    *net = NULL;
    if (!weights_path)
        return fail({u}_ERR_NULL, "{p}_create: weights_path is NULL");
    unsigned char *data;
    size_t size;
    int rc = read_file(weights_path, &data, &size);
    if (rc)
        return rc;
    rc = create_from(data, size, weights_path, net);
    free(data);
    return rc;
}}

int {p}_create_embedded({p}_net **net) {{
    if (!net)
        return fail({u}_ERR_NULL, "{p}_create_embedded: net is NULL");
    *net = NULL;
{embed}
}}

int {p}_save_weights({p}_net *net, const char *path) {{
    if (!net || !path)
        return fail({u}_ERR_NULL, "{p}_save_weights: net and path must not be NULL");
    unsigned char header[HEADER_BYTES] = {{0}};
    uint32_t version = FORMAT_VERSION, header_bytes = HEADER_BYTES;
    uint64_t id = MODEL_ID, payload = PAYLOAD_BYTES;
    memcpy(header, MAGIC, sizeof MAGIC);
    memcpy(header + 8, &version, 4);
    memcpy(header + 12, &header_bytes, 4);
    memcpy(header + 16, &id, 8);
    memcpy(header + 24, &payload, 8);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp)
        return fail({u}_ERR_ARGUMENT, "{p}_save_weights: path too long");
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return fail({u}_ERR_IO, "%s: %s", tmp, strerror(errno));
    pthread_mutex_lock(&lock);
    uint32_t crc = crc32_update(crc32_update(0, header, HEADER_BYTES), net->region,
                                PAYLOAD_BYTES);
    int ok = fwrite(header, 1, HEADER_BYTES, f) == HEADER_BYTES
             && fwrite(net->region, 1, PAYLOAD_BYTES, f) == PAYLOAD_BYTES
             && fwrite(&crc, 1, 4, f) == 4;
    pthread_mutex_unlock(&lock);
    ok = (fflush(f) == 0) && ok && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {{
        int err = errno;
        remove(tmp);
        return fail({u}_ERR_IO, "%s: %s", path, strerror(err));
    }}
    return succeed();
}}
"""
