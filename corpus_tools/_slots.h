/* Reading a struct's fields from where they are kept, for the package's C modules
 * (validate/_native.c, merge/_native.c): included by each, with a cache of its own.
 *
 * msgspec keeps a struct's fields in slots, and `getattr` finds a slot by looking the name up
 * in the type, then through its member descriptor: most of the cost of reading a field from C.
 * Here the slot offset of each (type, field name) is found once, from the type's member
 * descriptor, and the field read at that offset after. A type and a name are held while
 * cached, so their addresses cannot be reused; only types with the default attribute lookup
 * are cached, for which a slot is what `getattr` reads.
 */
#ifndef CORPUS_TOOLS_SLOTS_H
#define CORPUS_TOOLS_SLOTS_H

#include <Python.h>
#include <structmember.h>

typedef struct {
    PyTypeObject *type;
    PyObject *name;
    Py_ssize_t offset;
} Slot;

#define SLOTS 512
static Slot slots[SLOTS];

static Py_ssize_t slot_offset(PyTypeObject *tp, PyObject *name) {
    if (tp->tp_getattro != PyObject_GenericGetAttr) return -1;
    PyObject *descr = PyObject_GetAttr((PyObject *)tp, name);
    if (descr == NULL) {
        PyErr_Clear();
        return -1;
    }
    Py_ssize_t offset = -1;
    /* The slot is where the descriptor's own type keeps the field: only objects of that type,
     * or of a subtype, have it there (a class may hold another type's descriptors). */
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
        PyType_IsSubtype(tp, ((PyDescrObject *)descr)->d_type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type == T_OBJECT_EX && !(m->flags & READ_RESTRICTED)) offset = m->offset;
    }
    Py_DECREF(descr);
    return offset;
}

/* The field in its slot (borrowed: the object holds it), or NULL, with no exception set, when
 * the object keeps no such field in a slot (then `getattr` says what it is). */
static PyObject *slot_read(PyObject *obj, PyObject *name) {
    PyTypeObject *tp = Py_TYPE(obj);
    Slot *slot = &slots[(((uintptr_t)tp >> 4) * 31 + ((uintptr_t)name >> 4)) % SLOTS];
    if (slot->type != tp || slot->name != name) {
        Py_ssize_t offset = slot_offset(tp, name);
        if (offset < 0) return NULL;
        Py_INCREF(tp);
        Py_INCREF(name);
        Py_XDECREF(slot->type);
        Py_XDECREF(slot->name);
        slot->type = tp;
        slot->name = name;
        slot->offset = offset;
    }
    return *(PyObject **)((char *)obj + slot->offset); /* NULL for an unset slot */
}

/* The attribute, a new reference, or NULL with an exception set. */
static PyObject *get_ref(PyObject *obj, PyObject *name) {
    PyObject *v = slot_read(obj, name);
    return v != NULL ? Py_NewRef(v) : PyObject_GetAttr(obj, name);
}

/* Forget every cached slot (the names read may change). */
static void slots_clear(void) {
    for (int i = 0; i < SLOTS; i++) {
        Py_CLEAR(slots[i].type);
        Py_CLEAR(slots[i].name);
    }
}

#endif
