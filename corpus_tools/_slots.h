/* Reading a struct's fields from where they are kept, for the package's C modules
 * (validate/_native.c, merge/_native.c): included by each, with a cache of its own.
 *
 * msgspec keeps a struct's fields in slots, and `getattr` finds a slot by looking the name up
 * in the type, then through its member descriptor: most of the cost of reading a field from C.
 * Here the slot offset of each (type, field name) is found once, from the type's member
 * descriptor, and the field read at that offset after. A type and a name are held while
 * cached, so their addresses cannot be reused; only types with the default attribute lookup
 * are cached, for which a slot is what `getattr` reads, and an entry holds only while the
 * type's version tag is the one it had (a class changed since is looked up again).
 */
#ifndef CORPUS_TOOLS_SLOTS_H
#define CORPUS_TOOLS_SLOTS_H

#include <Python.h>
#include <structmember.h>

typedef struct {
    PyTypeObject *type;
    PyObject *name;
    Py_ssize_t offset;
    unsigned int tag; /* the type's version tag when cached: any change to the type, or to a
                       * base, gives it another (or none), and the entry is found again */
} Slot;

#define SLOTS 512
static Slot slots[SLOTS];

/* The slot offset of `name` for objects of `tp`, or -1: found as an instance's `getattr` finds
 * it (the type's MRO, no metaclass, no `__get__`), and only when that is a member descriptor
 * whose slot objects of `tp` have. */
static inline Py_ssize_t slot_offset(PyTypeObject *tp, PyObject *name) {
    if (tp->tp_getattro != PyObject_GenericGetAttr) return -1;
    PyObject *descr = _PyType_Lookup(tp, name); /* borrowed */
    if (descr == NULL) return -1;
    /* The slot is where the descriptor's own type keeps the field: only objects of that type,
     * or of a subtype, have it there (a class may hold another type's descriptors). */
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
        PyType_IsSubtype(tp, ((PyDescrObject *)descr)->d_type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type == T_OBJECT_EX && !(m->flags & READ_RESTRICTED)) return m->offset;
    }
    return -1;
}

/* Whether the type is as it was when its entry was made. */
static inline int unchanged(const Slot *slot, PyTypeObject *tp) {
    return (tp->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) && tp->tp_version_tag == slot->tag &&
           tp->tp_getattro == PyObject_GenericGetAttr;
}

/* The field from its slot, a new reference, or NULL, with no exception set, when the object
 * keeps no such field in a slot or the slot is unset (then `getattr` says what it is). */
static inline PyObject *slot_get(PyObject *obj, PyObject *name) {
    PyTypeObject *tp = Py_TYPE(obj);
    Slot *slot = &slots[(((uintptr_t)tp >> 4) * 31 + ((uintptr_t)name >> 4)) % SLOTS];
    if (slot->type == tp && slot->name == name && unchanged(slot, tp))
        return Py_XNewRef(*(PyObject **)((char *)obj + slot->offset));
    Py_ssize_t offset = slot_offset(tp, name); /* the lookup gives the type a version tag */
    if (offset < 0) return NULL;
    PyObject *v = Py_XNewRef(*(PyObject **)((char *)obj + offset));
    if (tp->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) {
        /* The new entry is in place before the old one is released, which may run Python
         * code (a name's `__del__`) that reads through this cache. */
        PyTypeObject *old_type = slot->type;
        PyObject *old_name = slot->name;
        slot->type = (PyTypeObject *)Py_NewRef((PyObject *)tp);
        slot->name = Py_NewRef(name);
        slot->offset = offset;
        slot->tag = tp->tp_version_tag;
        Py_XDECREF(old_type);
        Py_XDECREF(old_name);
    }
    return v;
}

/* The attribute, a new reference, or NULL with an exception set. */
static inline PyObject *get_ref(PyObject *obj, PyObject *name) {
    PyObject *v = slot_get(obj, name);
    return v != NULL ? v : PyObject_GetAttr(obj, name);
}

/* Forget every cached slot (the names read may change). */
static inline void slots_clear(void) {
    for (int i = 0; i < SLOTS; i++) {
        PyTypeObject *type = slots[i].type;
        PyObject *name = slots[i].name;
        slots[i].type = NULL;
        slots[i].name = NULL;
        Py_XDECREF(type);
        Py_XDECREF(name);
    }
}

#endif
