"""The bundle's C header: the documented C API of one compiled network.

Where it sits: written by compiler/bundle/build.py from the BundleSpec (spec.py), beside the
library csource.py implements. Every name starts with the model's C identifier, so two bundles
link into one program; sizes and shapes are macros and a table; the comment at the top states
the thread-safety and error rules. The error codes are declared once, in ERRORS.
"""

from __future__ import annotations

from compiler.bundle.spec import BundleSpec, Tensor, c_identifier

MAX_RANK = 8
ERRORS = (
    ("OK", "no error"),
    ("ERR_NULL", "a required pointer argument is NULL"),
    ("ERR_ARGUMENT", "an argument is out of range (a thread count, a tensor name or size)"),
    ("ERR_IO", "a file could not be read or written"),
    ("ERR_WEIGHTS_FORMAT", "not a netc weights file"),
    ("ERR_WEIGHTS_VERSION", "a weights file of another format version"),
    ("ERR_WEIGHTS_MODEL", "a weights file of another model"),
    ("ERR_WEIGHTS_SIZE", "a weights file of the wrong size (truncated or too long)"),
    ("ERR_WEIGHTS_CHECKSUM", "a weights file whose checksum does not match (corrupt)"),
    ("ERR_CPU", "this CPU lacks instructions the library was compiled for"),
    ("ERR_MEMORY", "out of memory"),
    ("ERR_UNSUPPORTED", "the library was built without this (netc build --train, "
                        "--embed-weights)"),
    ("ERR_INPUT", "an input holds an index out of range (a label or an id)"),
)
"""(name, meaning) of every status code, the code being the position."""
RESERVED = ("net", "output", "loss", "grads")


def argument_names(spec: BundleSpec) -> dict[str, str]:
    """The C parameter name of every input and label (identifiers, never a reserved name)."""
    names: dict[str, str] = {}
    for t in (*spec.inputs, *spec.labels):
        ident = c_identifier(t.name)
        while ident in RESERVED or ident in names.values():
            ident += "_"
        names[t.name] = ident
    return names


def data_arguments(spec: BundleSpec, labels: bool) -> str:
    """`const float *image, const int64_t *labels` as the entry functions take them."""
    names = argument_names(spec)
    tensors = [*spec.inputs, *(spec.labels if labels else [])]
    return ", ".join(f"const {t.c_type} *{names[t.name]}" for t in tensors)


def tensor_table(spec: BundleSpec) -> list[Tensor]:
    """The rows of `<name>_tensors`, in order: inputs, labels, output, parameters, state."""
    return [*spec.inputs, *spec.labels, spec.output, *spec.params, *spec.state]


def header(spec: BundleSpec, embedded: bool) -> str:
    p, u = spec.name, spec.name.upper()
    lines = [_preamble(spec, embedded), f"#ifndef {u}_H", f"#define {u}_H", "",
             "#include <stddef.h>", "#include <stdint.h>", "", "#ifdef __cplusplus",
             'extern "C" {', "#endif", ""]
    lines += _macros(spec, embedded)
    lines += [f"/* Status codes: every function returns {u}_OK or one of these. */",
              f"enum {p}_status {{"]
    lines += [f"    {u}_{name} = {code},  /* {meaning} */"
              for code, (name, meaning) in enumerate(ERRORS)]
    lines += ["};", "", _declarations(spec), "", "#ifdef __cplusplus", "}", "#endif",
              f"#endif /* {u}_H */", ""]
    return "\n".join(lines)


def _preamble(spec: BundleSpec, embedded: bool) -> str:
    p = spec.name
    train = "forward, loss and gradients, train step" if spec.train else "forward only"
    weights = " (also embedded in the library)" if embedded else ""
    return f"""/* {p}.h: the C API of model '{spec.model}', compiled ahead of time by `netc build`.

   Batch {spec.batch}; {train}; machine code for {spec.target}; up to {spec.threads} threads.
   Files: lib{p}.so (this API; needs only libc, libm and pthreads), {p}.weights{weights}.
   Build a program with:  cc main.c -I DIR -L DIR -l{p} -Wl,-rpath,DIR

   Arrays are C-contiguous in the shapes below (PyTorch's layouts: convolution weights
   [out, in, kh, kw], dense weights [out, in]); the batch is fixed at {spec.batch}.

   Errors: every function returns {p.upper()}_OK (0) or a status code; {p}_error_message(code)
   says what a code means and {p}_last_error() gives the message of the calling thread's last
   failed call (naming the file, tensor or value at fault).

   Thread safety: every function may be called from any thread. Calls that run a network or
   read or write its tensors take one lock of this library (its thread pool runs one call at
   a time, and one call already uses every thread), so concurrent calls are safe and run one
   after another. A network must not be used after, or while, it is destroyed.

   CPU: {p}_create checks that this CPU has what the code was compiled for and fails with
   {p.upper()}_ERR_CPU otherwise, before any of it runs. */
"""


def _macros(spec: BundleSpec, embedded: bool) -> list[str]:
    u = spec.name.upper()
    names = argument_names(spec)
    lines = [f"#define {u}_BATCH {spec.batch}", f"#define {u}_TRAIN {int(spec.train)}",
             f"#define {u}_EMBEDDED_WEIGHTS {int(embedded)}",
             f"#define {u}_MAX_THREADS {spec.threads}"]
    for t in (*spec.inputs, *spec.labels):
        lines.append(f"#define {u}_{names[t.name].upper()}_SIZE {t.count}  "
                     f"/* {t.kind} '{t.name}': {t.c_type} {list(t.shape)} */")
    lines += [f"#define {u}_OUTPUT_SIZE {spec.output.count}  /* output '{spec.output.name}': "
              f"{spec.output.c_type} {list(spec.output.shape)} */",
              f"#define {u}_PARAM_COUNT {len(spec.params)}",
              f"#define {u}_PARAM_SIZE {spec.param_floats}  /* floats in all parameters: "
              "the gradient buffer of loss_and_grads */",
              f"#define {u}_TENSOR_COUNT {len(tensor_table(spec))}",
              f"#define {u}_MAX_RANK {MAX_RANK}", ""]
    return lines


def _declarations(spec: BundleSpec) -> str:
    p, u = spec.name, spec.name.upper()
    fwd = data_arguments(spec, labels=False)
    step = data_arguments(spec, labels=True)
    out = spec.output.c_type
    train = f"""
/* One batch's loss and the gradient of every parameter; the parameters are not changed.
   grads: {u}_PARAM_SIZE floats, parameter i's gradient at {p}_tensors[...].grad_offset in
   the order of the table. (Declared when built with --train, as {u}_TRAIN says.) */
int {p}_loss_and_grads({p}_net *net, {step}, float *loss, float *grads);

/* One optimizer step (forward, backward, update) on a batch; *loss (if loss is not NULL) is
   the loss before the update; the optimizer is the one the bundle was built with. */
int {p}_train_step({p}_net *net, {step}, float *loss);
"""
    return f"""/* One row per tensor of the API: inputs, labels, the output, parameters, state
   (optimizer state: momentum buffers, Adam moments and step). */
typedef struct {{
    const char *name;     /* as in net.params in Python, e.g. "conv1.weight" */
    const char *kind;     /* "input", "label", "output", "param" or "state" */
    const char *dtype;    /* "f32" (float), "f64" (double) or "i64" (int64_t) */
    int rank;
    int64_t shape[{u}_MAX_RANK];
    size_t count;         /* elements */
    size_t offset;        /* bytes into the network's region (params, state) */
    size_t grad_offset;   /* floats into loss_and_grads' gradient buffer (params) */
}} {p}_tensor;

extern const {p}_tensor {p}_tensors[{u}_TENSOR_COUNT];

typedef struct {p}_net {p}_net;

/* A network with the parameters and optimizer state of a weights file ({p}.weights, or one
   {p}_save_weights wrote). The file must be of this model, format version and size, with a
   matching checksum ({u}_ERR_WEIGHTS_*). *net is NULL on failure. */
int {p}_create(const char *weights_path, {p}_net **net);

/* The same from the weights embedded in the library ({u}_ERR_UNSUPPORTED unless built with
   --embed-weights). */
int {p}_create_embedded({p}_net **net);

/* Inference: output holds {u}_OUTPUT_SIZE {out}s. */
int {p}_forward({p}_net *net, {fwd}, {out} *output);
{train if spec.train else ""}
/* Read or write a parameter or state tensor by name; count must be its element count and
   data of its dtype (float for parameters). */
int {p}_get_param({p}_net *net, const char *name, void *data, size_t count);
int {p}_set_param({p}_net *net, const char *name, const void *data, size_t count);

/* Writes parameters and optimizer state as a weights file (atomically: a temporary file in
   the same folder, then a rename). */
int {p}_save_weights({p}_net *net, const char *path);

/* Threads of this library's pool, 1..{u}_MAX_THREADS (default {u}_MAX_THREADS), for every
   network of the library. The pool starts when the first network is created, with the count
   set then; later calls may lower it (or raise it back), never above that. */
int {p}_set_threads(int threads);

/* Frees the network (NULL: nothing to do). */
int {p}_destroy({p}_net *net);

/* What a status code means (a static string; "unknown status" for other numbers). */
const char *{p}_error_message(int code);

/* The message of the calling thread's last failed call ("" if none failed). */
const char *{p}_last_error(void);

/* Advanced: the network's region of parameters and state (tensors at their table offsets),
   what compiler.load_bundle maps into numpy. */
int {p}_region({p}_net *net, void **region, size_t *bytes);"""
