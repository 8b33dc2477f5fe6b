/* Optional C speedup for tether.ws: WebSocket payload masking (RFC 6455 section 5.3).
 *
 * tether.ws.frames.apply_mask_py is the reference implementation in pure Python; this one is
 * used when the extension could be built, and the tests check that both agree.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static PyObject *
apply_mask(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer data, mask;
    PyObject *result = NULL;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "apply_mask() takes exactly 2 arguments (data, mask)");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &data, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[1], &mask, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    if (mask.len != 4) {
        PyErr_SetString(PyExc_ValueError, "a masking key is 4 bytes");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, data.len);
    if (result == NULL) {
        goto done;
    }
    {
        const unsigned char *src = (const unsigned char *)data.buf;
        const unsigned char *key = (const unsigned char *)mask.buf;
        unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(result);
        const unsigned char key8[8] = {key[0], key[1], key[2], key[3],
                                       key[0], key[1], key[2], key[3]};
        uint64_t key64;
        Py_ssize_t i = 0;
        Py_ssize_t n = data.len;

        memcpy(&key64, key8, 8);
        for (; i + 8 <= n; i += 8) {
            uint64_t word;
            memcpy(&word, src + i, 8);
            word ^= key64;
            memcpy(dst + i, &word, 8);
        }
        for (; i < n; i++) {
            dst[i] = src[i] ^ key[i & 3];
        }
    }
done:
    PyBuffer_Release(&mask);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef speedups_methods[] = {
    {"apply_mask", (PyCFunction)(void (*)(void))apply_mask, METH_FASTCALL,
     "apply_mask(data, mask) -> bytes: XOR data with the 4-byte mask repeated."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT, "tether.ws._speedups", NULL, 0, speedups_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&speedups_module);
}
