"""The bundle's example program (main.c) and README.md: how to build and call the library.

Where it sits: written by compiler/bundle/build.py beside the header. main.c is also what the
tests compile and run (tests/test_bundle*.py), so the example is known to work: it runs
forward on an input file (or zeros) and, for a training bundle, train steps first, writing
results as raw little-endian arrays and losses as exact hexadecimal floats.
"""

from __future__ import annotations

from compiler.bundle.header import argument_names
from compiler.bundle.spec import BundleSpec


def example_main(spec: BundleSpec) -> str:
    p, u = spec.name, spec.name.upper()
    names = argument_names(spec)
    arrays = [*spec.inputs, *spec.labels]
    decls = "\n".join(f"static {t.c_type} {names[t.name]}[{u}_{names[t.name].upper()}_SIZE];"
                      for t in arrays)
    inputs = "\n".join(
        f"        ok = ok && read_array(argv[2], &at_input, {names[t.name]}, "
        f"sizeof {names[t.name]});" for t in spec.inputs)
    labels = "\n".join(
        f"        ok = ok && read_array(argv[4], &at_labels, {names[t.name]}, "
        f"sizeof {names[t.name]});" for t in spec.labels)
    data = ", ".join(names[t.name] for t in spec.inputs)
    step_data = ", ".join(names[t.name] for t in arrays)
    train = f"""    if (argc == 7) {{ /* train steps on one batch, then save the weights */
        long at_labels = 0;
        int ok = 1;
{labels}
        if (!ok)
            return fail_io(argv[4]);
        int steps = atoi(argv[5]);
        for (int s = 0; s < steps; s++) {{
            float loss;
            if (check({p}_train_step(net, {step_data}, &loss)))
                return 1;
            printf("step %d loss %a (%.6f)\\n", s + 1, loss, loss);
        }}
        if (check({p}_save_weights(net, argv[6])))
            return 1;
    }}
""" if spec.train else ""
    usage = "WEIGHTS|embedded [INPUT OUTPUT" + (" [LABELS STEPS SAVED]]" if spec.train else "]")
    training = ("\n   LABELS holds the labels; STEPS train steps run on that batch (each loss "
                "printed),\n   the weights are saved to SAVED, then forward runs."
                if spec.train else "")
    return f"""/* main.c: an example program over the {p} bundle (see {p}.h and README.md).

   cc -O2 main.c -I. -L. -l{p} -Wl,-rpath,"$PWD" -o {p}_example
   ./{p}_example {usage}

   Without INPUT it runs forward on zeros and prints the outputs. INPUT holds the inputs
   ({", ".join(t.name for t in spec.inputs)}) one after another as raw little-endian arrays,
   OUTPUT receives the output the same way.{training} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "{p}.h"

{decls}
static {spec.output.c_type} output[{u}_OUTPUT_SIZE];

static int check(int status) {{
    if (status != {u}_OK)
        fprintf(stderr, "{p}: %s: %s\\n", {p}_error_message(status), {p}_last_error());
    return status;
}}

static int fail_io(const char *path) {{
    fprintf(stderr, "{p}_example: cannot read %s (or it has the wrong size)\\n", path);
    return 1;
}}

/* Reads `size` bytes of `path` at *offset; 0 when the file is shorter. */
static int read_array(const char *path, long *offset, void *data, size_t size) {{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int ok = fseek(f, *offset, SEEK_SET) == 0 && fread(data, 1, size, f) == size;
    fclose(f);
    *offset += (long)size;
    return ok;
}}

int main(int argc, char **argv) {{
    if (argc != 2 && argc != 4{" && argc != 7" if spec.train else ""}) {{
        fprintf(stderr, "usage: %s {usage}\\n", argv[0]);
        return 2;
    }}
    {p}_net *net;
    int status = strcmp(argv[1], "embedded") ? {p}_create(argv[1], &net)
                                              : {p}_create_embedded(&net);
    if (check(status))
        return 1;
    if (argc >= 4) {{
        long at_input = 0;
        int ok = 1;
{inputs}
        if (!ok)
            return fail_io(argv[2]);
    }}
{train}    if (check({p}_forward(net, {data}, output)))
        return 1;
    if (argc >= 4) {{
        FILE *f = fopen(argv[3], "wb");
        if (!f || fwrite(output, sizeof output, 1, f) != 1)
            return fail_io(argv[3]);
        fclose(f);
    }} else {{
        for (int i = 0; i < {u}_OUTPUT_SIZE && i < 10; i++)
            printf("output[%d] = %g\\n", i, (double)output[i]);
    }}
    {p}_destroy(net);
    return 0;
}}
"""


def readme(spec: BundleSpec, embedded: bool) -> str:
    p = spec.name
    usage = "WEIGHTS|embedded [INPUT OUTPUT" + (" [LABELS STEPS SAVED]]" if spec.train else "]")
    kind = ("training (loss and gradients, train step) and inference" if spec.train
            else "inference")
    also = "; also embedded in the library" if embedded else ""
    python = ", `net.train_step(x, labels)`" if spec.train else ""
    return f"""# {p}: model '{spec.model}' as a C library (netc build)

| file | what |
|---|---|
| `lib{p}.so` | the network's machine code ({spec.target}) and its C API; needs only libc, \
libm, pthreads |
| `{p}.h` | the API, documented in the header: errors, thread safety, sizes and shapes |
| `{p}.weights` | parameters and optimizer state (versioned, checksummed){also} |
| `main.c` | an example program |
| `{p}.netc.json` | what `compiler.load_bundle(DIR)` reads to use the library from Python |

Batch {spec.batch}, {kind}, up to {spec.threads} threads.

```
cc -O2 main.c -I. -L. -l{p} -Wl,-rpath,"$PWD" -o {p}_example
./{p}_example {p}.weights          # forward on zeros, prints the outputs
./{p}_example {usage}
```

From Python: `net = compiler.load_bundle("DIR")`, then `net.forward(x)`, `net.params`{python}
as for `compiler.compile`.
"""
