/* The validator's fast path in C: `is_clean` and `repeats_a_key` (see mirror.py).
 *
 * `is_clean(rec)` answers one question of a record decoded into the mirror's structs: does it
 * break none of the rules of `rules.check_record`? It only ever says yes or no; a line it does
 * not call clean goes through the reference checks, which say what is wrong. The conditions are
 * those of rules.py, tested on generated valid and broken records (tests/test_mirror.py); the
 * layers come from the registry (`configure`, from mirror.py), and the predicates of the
 * guidelines that are rarely needed (a word cut, an answer's position, an aside, a target's
 * occurrence, a language tag, the order of nested ids) are the Python functions of rules.py,
 * called from here.
 *
 * `repeats_a_key(raw)` scans a line that decoded as JSON for an object that gives a key twice.
 *
 * `clean_record(raw)` is what the validator runs on every line: the record decoded (by the
 * mirror's decoder) when it is clean, else None, in one call.
 *
 * Every attribute read from a struct is owned by the record, which nothing changes during a
 * call, so the references taken from `get` are released at once and the pointers used as
 * borrowed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#include "../_slots.h"

/* -- configuration (from mirror.py, once) ---------------------------------------------------- */

static PyObject *UNSET;          /* msgspec.UNSET */
static PyObject *PLAN;           /* tuple of (name, own, parts, conditional, targeted) */
static PyObject *REFERENCES;     /* tuple of (layer, field, target, author, cycles, parts) */
static PyObject *ALIASES;        /* rules.ALIASES, changed in place by rules.using_aliases */
static PyObject *GOOD_TAGS;      /* language tags found valid */
static PyObject *DECODE;         /* the record decoder's `decode` */
static PyObject *DECODE_ERRORS;  /* what it raises for a line that does not decode */
static PyObject *SPLITS_WORD, *ANSWER_FOLLOWS, *OUTER_FIRST, *IN_ASIDE, *TARGET_OCCURS,
    *IS_LANGUAGE_TAG;

static PyObject *s_start, *s_end, *s_text, *s_id, *s_annotators, *s_doc_id, *s_annotator,
    *s_meta, *s_language, *s_content, *s_nested_in, *s_holder, *s_target, *s_type, *s_answer,
    *s_questions, *s_attributions, *s_stances, *s_author, *s_direct;

#define ABSENT(v) ((v) == Py_None || (v) == UNSET)

static PyObject *KEPT; /* attributes that are not a struct's fields, alive until the check ends */

/* The attribute as a borrowed pointer, or NULL with an exception set: a struct's field, read
 * from its slot (`_slots.h`), which the record holds (nothing changes it during a call); any
 * other attribute (a property makes a new object) is kept in KEPT until the check ends. */
static PyObject *get(PyObject *obj, PyObject *name) {
    PyObject *v = slot_get(obj, name);
    if (v == NULL) {
        v = PyObject_GetAttr(obj, name); /* an unset slot raises AttributeError here */
        if (v == NULL) return NULL;
        if (PyList_Append(KEPT, v) < 0) {
            Py_DECREF(v);
            return NULL;
        }
    }
    Py_DECREF(v);
    return v;
}

/* The attribute, or Py_None when the object has none (getattr with a default). */
static PyObject *get_or_none(PyObject *obj, PyObject *name) {
    PyObject *v = PyObject_GetAttr(obj, name);
    if (v == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) return NULL;
        PyErr_Clear();
        return Py_None;
    }
    Py_DECREF(v);
    return v;
}

/* Whether an items value holds items: not None, UNSET or an empty list (Python's truth). */
static int has_items(PyObject *items) {
    if (ABSENT(items)) return 0;
    if (PyList_CheckExact(items)) return PyList_GET_SIZE(items) > 0;
    return PyObject_IsTrue(items);
}

/* schema.NAME_PATTERN, ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ with fullmatch: 1 or 0. */
static int name_ok(PyObject *v) {
    if (!PyUnicode_Check(v)) return 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(v);
    if (n < 1 || n > 128) return 0;
    int kind = PyUnicode_KIND(v);
    const void *data = PyUnicode_DATA(v);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !(c == '.' || c == '_' || c == '-'))) return 0;
    }
    return 1;
}

/* An int attribute: 0 when read, 1 when it is no int that fits (then no span is in range),
 * -1 on error. */
static int int_of(PyObject *obj, PyObject *name, long long *out) {
    PyObject *v = get(obj, name);
    if (v == NULL) return -1;
    if (!PyLong_Check(v)) return 1;
    int overflow;
    *out = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (*out == -1 && PyErr_Occurred()) return -1;
    return overflow ? 1 : 0;
}

static int equal(PyObject *a, PyObject *b) {
    if (a == b) return 1;
    return PyObject_RichCompareBool(a, b, Py_EQ);
}

/* The truth of a Python predicate's result (a new reference, or NULL), consumed. */
static int truth(PyObject *result) {
    if (result == NULL) return -1;
    int t = PyObject_IsTrue(result);
    Py_DECREF(result);
    return t;
}

/* Whether `len` code points of `a` from `start` are those of `b`, stored in different kinds
 * (a text with an em dash is two bytes a character, a span of plain letters in it one). */
#define SAME(TA, TB)                                           \
    {                                                          \
        const TA *x = (const TA *)a + start;                   \
        const TB *y = (const TB *)b;                           \
        Py_UCS4 diff = 0; /* no early exit: the loop vectorises */ \
        for (Py_ssize_t i = 0; i < len; i++)                   \
            diff |= (Py_UCS4)x[i] ^ (Py_UCS4)y[i];             \
        return diff == 0;                                      \
    }

static int same_chars(int akind, const void *a, Py_ssize_t start, int bkind, const void *b,
                      Py_ssize_t len) {
    switch (akind * 8 + bkind) {
        case PyUnicode_2BYTE_KIND * 8 + PyUnicode_1BYTE_KIND: SAME(Py_UCS2, Py_UCS1)
        case PyUnicode_4BYTE_KIND * 8 + PyUnicode_1BYTE_KIND: SAME(Py_UCS4, Py_UCS1)
        case PyUnicode_4BYTE_KIND * 8 + PyUnicode_2BYTE_KIND: SAME(Py_UCS4, Py_UCS2)
        case PyUnicode_1BYTE_KIND * 8 + PyUnicode_2BYTE_KIND: SAME(Py_UCS1, Py_UCS2)
        case PyUnicode_1BYTE_KIND * 8 + PyUnicode_4BYTE_KIND: SAME(Py_UCS1, Py_UCS4)
        case PyUnicode_2BYTE_KIND * 8 + PyUnicode_4BYTE_KIND: SAME(Py_UCS2, Py_UCS4)
    }
    for (Py_ssize_t i = 0; i < len; i++)
        if (PyUnicode_READ(akind, a, start + i) != PyUnicode_READ(bkind, b, i)) return 0;
    return 1;
}

/* A growing array of borrowed pointers (no Python list: nothing for the GC to track). */
typedef struct {
    PyObject **v;
    Py_ssize_t n, cap;
    PyObject *small[64];
} Vec;

static void vec_init(Vec *a) {
    a->v = a->small;
    a->n = 0;
    a->cap = 64;
}

static int vec_push(Vec *a, PyObject *o) {
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap * 2;
        PyObject **v = PyMem_New(PyObject *, cap);
        if (v == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(v, a->v, (size_t)a->n * sizeof(PyObject *));
        if (a->v != a->small) PyMem_Free(a->v);
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = o;
    return 0;
}

static void vec_free(Vec *a) {
    if (a->v != a->small) PyMem_Free(a->v);
}

/* Whether two names (checked: ASCII, so one byte a character) are the same. */
static int same_name(PyObject *a, PyObject *b) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(a);
    return n == PyUnicode_GET_LENGTH(b) && memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b), (size_t)n) == 0;
}

/* Whether the ids (checked names) are all different: 1, 0, -1. */
static int unique(Vec *ids) {
    if (ids->n <= 32) {
        for (Py_ssize_t i = 1; i < ids->n; i++)
            for (Py_ssize_t j = 0; j < i; j++)
                if (same_name(ids->v[i], ids->v[j])) return 0;
        return 1;
    }
    PyObject *set = PySet_New(NULL);
    if (set == NULL) return -1;
    for (Py_ssize_t i = 0; i < ids->n; i++)
        if (PySet_Add(set, ids->v[i]) < 0) {
            Py_DECREF(set);
            return -1;
        }
    int ok = PySet_GET_SIZE(set) == ids->n;
    Py_DECREF(set);
    return ok;
}

/* -- spans ------------------------------------------------------------------------------------ */

/* rules.check_span finds nothing: in range, not empty, the text it covers, no space at either
 * end (what str.strip removes), no word cut (rules.splits_word, asked only when a character
 * beside the span is alphanumeric). 1 clean, 0 not, -1 error. */
static int span_ok(PyObject *text, Py_ssize_t n, int kind, const void *data, PyObject *span) {
    long long start, end;
    int r = int_of(span, s_start, &start);
    if (r) return r < 0 ? -1 : 0;
    r = int_of(span, s_end, &end);
    if (r) return r < 0 ? -1 : 0;
    if (!(0 <= start && start < end && end <= n)) return 0;
    PyObject *covered = get(span, s_text);
    if (covered == NULL) return -1;
    if (!PyUnicode_Check(covered) || PyUnicode_GET_LENGTH(covered) != end - start) return 0;
    int ckind = PyUnicode_KIND(covered);
    const void *cdata = PyUnicode_DATA(covered);
    Py_ssize_t len = (Py_ssize_t)(end - start);
    if (ckind == kind) {
        if (memcmp((const char *)data + start * kind, cdata, (size_t)(len * kind)) != 0) return 0;
    } else if (!same_chars(kind, data, start, ckind, cdata, len)) {
        return 0;
    }
    if (Py_UNICODE_ISSPACE(PyUnicode_READ(ckind, cdata, 0)) ||
        Py_UNICODE_ISSPACE(PyUnicode_READ(ckind, cdata, len - 1)))
        return 0;
    if ((start > 0 && Py_UNICODE_ISALNUM(PyUnicode_READ(kind, data, start - 1))) ||
        (end < n && Py_UNICODE_ISALNUM(PyUnicode_READ(kind, data, end)))) {
        PyObject *a = PyLong_FromLongLong(start), *b = PyLong_FromLongLong(end);
        PyObject *res = (a && b) ? PyObject_CallFunctionObjArgs(SPLITS_WORD, text, a, b, NULL) : NULL;
        Py_XDECREF(a);
        Py_XDECREF(b);
        int cut = truth(res);
        if (cut < 0) return -1;
        return !cut;
    }
    return 1;
}

/* -- references ------------------------------------------------------------------------------- */

/* The item's reference `value` names an item of `targets` whose content contains the item's
 * parts and (with `cycles`) leads back to no item. 1, 0, -1. */
static int reference_ok(PyObject *it, PyObject *value, PyObject *field, int cycles, PyObject *parts,
                        PyObject *targets) {
    PyObject *target = PyDict_GetItemWithError(targets, value);
    if (target == NULL) return PyErr_Occurred() ? -1 : 0;
    if (cycles) {
        PyObject *seen = PySet_New(NULL);
        if (seen == NULL) return -1;
        PyObject *id = get(it, s_id);
        if (id == NULL || PySet_Add(seen, id) < 0) goto fail;
        PyObject *current = target;
        while (current != NULL) {
            id = get(current, s_id);
            if (id == NULL) goto fail;
            int in = PySet_Contains(seen, id);
            if (in < 0) goto fail;
            if (in) {
                Py_DECREF(seen);
                return 0;
            }
            if (PySet_Add(seen, id) < 0) goto fail;
            PyObject *parent = get(current, field);
            if (parent == NULL) goto fail;
            if (ABSENT(parent)) break;
            current = PyDict_GetItemWithError(targets, parent);
            if (current == NULL && PyErr_Occurred()) goto fail;
        }
        Py_DECREF(seen);
        goto bounds;
    fail:
        Py_DECREF(seen);
        return -1;
    }
bounds:;
    PyObject *content = get(target, s_content);
    if (content == NULL) return -1;
    long long lo, hi, start, end;
    int r;
    if ((r = int_of(content, s_start, &lo)) || (r = int_of(content, s_end, &hi))) return r < 0 ? -1 : 0;
    Py_ssize_t np = PyTuple_GET_SIZE(parts);
    for (Py_ssize_t i = 0; i < np; i++) {
        PyObject *part = PyTuple_GET_ITEM(parts, i);
        PyObject *s = part == Py_None ? it : get(it, part);
        if (s == NULL) return -1;
        if (ABSENT(s)) continue;
        if ((r = int_of(s, s_start, &start)) || (r = int_of(s, s_end, &end))) return r < 0 ? -1 : 0;
        if (!(lo <= start && end <= hi)) return 0;
    }
    return 1;
}

/* -- the guidelines --------------------------------------------------------------------------- */

typedef struct {
    PyObject *id, *item;
    long long lo, hi;
} Content;

static PyObject *bounds_tuple(long long a, long long b) { return Py_BuildValue("(LL)", a, b); }

/* Q4: every question ends with "?", every answer follows its question. */
static int questions_ok(PyObject *rec, PyObject *text) {
    PyObject *questions = get_or_none(rec, s_questions);
    if (questions == NULL) return -1;
    if (!PyList_Check(questions)) return 1;
    Py_ssize_t nq = PyList_GET_SIZE(questions);
    PyObject *bounds = NULL;
    int ok = 1;
    for (Py_ssize_t i = 0; i < nq && ok == 1; i++) {
        PyObject *q = PyList_GET_ITEM(questions, i);
        PyObject *qt = get(q, s_text);
        if (qt == NULL) goto fail;
        Py_ssize_t len = PyUnicode_Check(qt) ? PyUnicode_GET_LENGTH(qt) : 0;
        if (len == 0 || PyUnicode_READ_CHAR(qt, len - 1) != '?') {
            ok = 0;
            break;
        }
        PyObject *a = get(q, s_answer);
        if (a == NULL) goto fail;
        if (ABSENT(a)) continue;
        long long qs, qe, as, ae;
        if (int_of(q, s_start, &qs) || int_of(q, s_end, &qe) || int_of(a, s_start, &as) ||
            int_of(a, s_end, &ae))
            goto fail; /* spans were checked: they are ints in range */
        if (bounds == NULL) {
            bounds = PyList_New(nq);
            if (bounds == NULL) goto fail;
            for (Py_ssize_t j = 0; j < nq; j++) {
                long long s, e;
                PyObject *other = PyList_GET_ITEM(questions, j);
                if (int_of(other, s_start, &s) || int_of(other, s_end, &e)) goto fail;
                PyObject *b = bounds_tuple(s, e);
                if (b == NULL) goto fail;
                PyList_SET_ITEM(bounds, j, b);
            }
        }
        PyObject *qb = bounds_tuple(qs, qe), *ab = bounds_tuple(as, ae);
        PyObject *res =
            (qb && ab) ? PyObject_CallFunctionObjArgs(ANSWER_FOLLOWS, text, qb, ab, bounds, NULL) : NULL;
        Py_XDECREF(qb);
        Py_XDECREF(ab);
        ok = truth(res);
        if (ok < 0) goto fail;
    }
    Py_XDECREF(bounds);
    return ok;
fail:
    Py_XDECREF(bounds);
    return PyErr_Occurred() ? -1 : 0; /* offsets that are no ints (checked before): not clean */
}

/* The stances' holders and targets (S7, S9): 1, 0, -1. `contents` are the attributions'. */
static int stances_ok(PyObject *rec, PyObject *text, Content *contents, Py_ssize_t nc) {
    PyObject *stances = get_or_none(rec, s_stances);
    if (stances == NULL) return -1;
    if (!PyList_Check(stances) || PyList_GET_SIZE(stances) == 0) return 1;
    PyObject *declared = Py_None;
    if (PyDict_GET_SIZE(ALIASES)) {
        PyObject *doc_id = get(rec, s_doc_id);
        if (doc_id == NULL) return -1;
        declared = PyDict_GetItemWithError(ALIASES, doc_id);
        if (declared == NULL) {
            if (PyErr_Occurred()) return -1;
            declared = Py_None;
        }
    }
    PyObject *folded = NULL; /* target_occurs's cache of the folded text, made on first need */
    Vec occurring;           /* the targets found, each looked up once */
    vec_init(&occurring);
    Py_ssize_t ns = PyList_GET_SIZE(stances);
    int ok = 1;
    for (Py_ssize_t i = 0; i < ns && ok == 1; i++) {
        PyObject *s = PyList_GET_ITEM(stances, i);
        if (nc) {
            long long start, end;
            if (int_of(s, s_start, &start) || int_of(s, s_end, &end)) goto fail;
            Content *inner = NULL;
            for (Py_ssize_t j = 0; j < nc; j++) {
                Content *c = &contents[j];
                if (c->lo <= start && end <= c->hi &&
                    (inner == NULL || c->hi - c->lo < inner->hi - inner->lo))
                    inner = c;
            }
            if (inner != NULL) {
                PyObject *holder = get(s, s_holder);
                if (holder == NULL) goto fail;
                int by_author = equal(holder, s_author);
                if (by_author < 0) goto fail;
                if (by_author) {
                    PyObject *type = get(inner->item, s_type);
                    if (type == NULL) goto fail;
                    int direct = equal(type, s_direct);
                    if (direct < 0) goto fail;
                    if (direct) {
                        PyObject *cb = bounds_tuple(inner->lo, inner->hi), *sb = bounds_tuple(start, end);
                        PyObject *res =
                            (cb && sb) ? PyObject_CallFunctionObjArgs(IN_ASIDE, text, cb, sb, NULL) : NULL;
                        Py_XDECREF(cb);
                        Py_XDECREF(sb);
                        int aside = truth(res);
                        if (aside < 0) goto fail;
                        if (!aside) ok = 0;
                    }
                } else {
                    int same = equal(inner->id, holder);
                    if (same < 0) goto fail;
                    if (!same) {
                        /* the holder's content may be the same span (two ids, one quotation) */
                        Content *held = NULL;
                        for (Py_ssize_t j = 0; j < nc && held == NULL; j++) {
                            int eq = equal(contents[j].id, holder);
                            if (eq < 0) goto fail;
                            if (eq) held = &contents[j];
                        }
                        if (held == NULL || held->lo != inner->lo || held->hi != inner->hi) ok = 0;
                    }
                }
                if (!ok) break;
            }
        }
        PyObject *target = get(s, s_target);
        if (target == NULL) goto fail;
        int seen = 0;
        for (Py_ssize_t j = 0; j < occurring.n && !seen; j++) {
            seen = equal(occurring.v[j], target);
            if (seen < 0) goto fail;
        }
        if (!seen) {
            /* rules.target_occurs's first test, without the call: a target longer than "the "
             * that occurs in the text as it is written occurs */
            int occurs = PyUnicode_Check(target) && PyUnicode_GET_LENGTH(target) > 4
                             ? PyUnicode_Contains(text, target)
                             : 0;
            if (occurs == 0) {
                if (folded == NULL && (folded = PyList_New(0)) == NULL) goto fail;
                occurs = truth(
                    PyObject_CallFunctionObjArgs(TARGET_OCCURS, target, text, folded, declared, NULL));
            }
            if (occurs < 0) goto fail;
            if (!occurs) ok = 0;
            else if (occurring.n < 64 && vec_push(&occurring, target) < 0) goto fail;
        }
    }
    Py_XDECREF(folded);
    vec_free(&occurring);
    return ok;
fail:
    Py_XDECREF(folded);
    vec_free(&occurring);
    return PyErr_Occurred() ? -1 : 0; /* offsets that are no ints (checked before): not clean */
}

/* The attributions' contents in order, their nesting ids outer first (G6), then the questions
 * and the stances. */
static int guidelines_ok(PyObject *rec, PyObject *text) {
    int ok = questions_ok(rec, text);
    if (ok != 1) return ok;
    PyObject *attributions = get_or_none(rec, s_attributions);
    if (attributions == NULL) return -1;
    Py_ssize_t nc = PyList_Check(attributions) ? PyList_GET_SIZE(attributions) : 0;
    Content small[32];
    Content *contents = nc <= 32 ? small : PyMem_New(Content, nc);
    if (contents == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    ok = 1;
    for (Py_ssize_t i = 0; i < nc && ok == 1; i++) {
        PyObject *t = PyList_GET_ITEM(attributions, i);
        PyObject *id = get(t, s_id), *parent = id ? get(t, s_nested_in) : NULL;
        if (parent == NULL) goto fail;
        if (!ABSENT(parent)) {
            ok = truth(PyObject_CallFunctionObjArgs(OUTER_FIRST, id, parent, NULL));
            if (ok < 0) goto fail;
        }
        PyObject *content = get(t, s_content);
        if (content == NULL || int_of(content, s_start, &contents[i].lo) ||
            int_of(content, s_end, &contents[i].hi))
            goto fail;
        contents[i].id = id;
        contents[i].item = t;
    }
    if (ok == 1) ok = stances_ok(rec, text, contents, nc);
    if (contents != small) PyMem_Free(contents);
    return ok;
fail:
    if (contents != small) PyMem_Free(contents);
    return PyErr_Occurred() ? -1 : 0; /* offsets that are no ints (checked before): not clean */
}

/* -- is_clean --------------------------------------------------------------------------------- */

static int all_names(PyObject *names) {
    if (!PyList_Check(names)) return 0;
    Py_ssize_t n = PyList_GET_SIZE(names);
    for (Py_ssize_t i = 0; i < n; i++)
        if (!name_ok(PyList_GET_ITEM(names, i))) return 0;
    return 1;
}

/* 1 clean, 0 not, -1 error. `spans`, `named` and `ids` are the caller's, to fill; `named`
 * (layer -> id -> item, for the layers references name) is made on first need. */
static int gather(PyObject *rec, Vec *spans, PyObject **named, Vec *ids) {
    Py_ssize_t nplan = PyTuple_GET_SIZE(PLAN);
    for (Py_ssize_t l = 0; l < nplan; l++) {
        PyObject *step = PyTuple_GET_ITEM(PLAN, l);
        PyObject *name = PyTuple_GET_ITEM(step, 0);
        int own = PyObject_IsTrue(PyTuple_GET_ITEM(step, 1));
        PyObject *parts = PyTuple_GET_ITEM(step, 2), *conditional = PyTuple_GET_ITEM(step, 3);
        int targeted = PyObject_IsTrue(PyTuple_GET_ITEM(step, 4));
        PyObject *items = get(rec, name);
        if (items == NULL) return -1;
        int has = has_items(items);
        if (has <= 0) {
            if (has < 0) return -1;
            continue;
        }
        if (!PyList_Check(items)) return 0;
        Py_ssize_t n = PyList_GET_SIZE(items);
        PyObject *by_id = NULL;
        if (targeted) {
            if (*named == NULL && (*named = PyDict_New()) == NULL) return -1;
            by_id = PyDict_New();
            if (by_id == NULL || PyDict_SetItem(*named, name, by_id) < 0) {
                Py_XDECREF(by_id);
                return -1;
            }
            Py_DECREF(by_id); /* owned by `named` */
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *it = PyList_GET_ITEM(items, i);
            PyObject *id = get(it, s_id);
            if (id == NULL) return -1;
            if (!name_ok(id)) return 0;
            if (vec_push(ids, id) < 0) return -1;
            if (by_id != NULL && PyDict_SetItem(by_id, id, it) < 0) return -1;
            if (own && vec_push(spans, it) < 0) return -1;
            Py_ssize_t np = PyTuple_GET_SIZE(parts);
            for (Py_ssize_t p = 0; p < np; p++) {
                PyObject *s = get(it, PyTuple_GET_ITEM(parts, p));
                if (s == NULL) return -1;
                if (!ABSENT(s) && vec_push(spans, s) < 0) return -1;
            }
            Py_ssize_t nc = PyTuple_GET_SIZE(conditional);
            for (Py_ssize_t c = 0; c < nc; c++) {
                PyObject *cond = PyTuple_GET_ITEM(conditional, c);
                PyObject *s = get(it, PyTuple_GET_ITEM(cond, 0));
                if (s == NULL) return -1;
                if (ABSENT(s)) continue;
                PyObject *label = get(it, PyTuple_GET_ITEM(cond, 1));
                if (label == NULL) return -1;
                int eq = equal(label, PyTuple_GET_ITEM(cond, 2));
                if (eq <= 0) return eq;
                if (vec_push(spans, s) < 0) return -1;
            }
            PyObject *names = get(it, s_annotators);
            if (names == NULL) return -1;
            if (!ABSENT(names) && !all_names(names)) return 0;
        }
    }
    return 1;
}

static int references_ok(PyObject *rec, PyObject *named) {
    Py_ssize_t nref = PyTuple_GET_SIZE(REFERENCES);
    for (Py_ssize_t r = 0; r < nref; r++) {
        PyObject *ref = PyTuple_GET_ITEM(REFERENCES, r);
        PyObject *items = get(rec, PyTuple_GET_ITEM(ref, 0));
        if (items == NULL) return -1;
        if (!PyList_Check(items) || PyList_GET_SIZE(items) == 0) continue;
        PyObject *field = PyTuple_GET_ITEM(ref, 1);
        PyObject *targets = named ? PyDict_GetItemWithError(named, PyTuple_GET_ITEM(ref, 2)) : NULL;
        if (targets == NULL && PyErr_Occurred()) return -1;
        int author = PyObject_IsTrue(PyTuple_GET_ITEM(ref, 3));
        int cycles = PyObject_IsTrue(PyTuple_GET_ITEM(ref, 4));
        PyObject *parts = PyTuple_GET_ITEM(ref, 5);
        Py_ssize_t n = PyList_GET_SIZE(items);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *it = PyList_GET_ITEM(items, i);
            PyObject *value = get(it, field);
            if (value == NULL) return -1;
            if (ABSENT(value)) continue;
            if (author) {
                int is_author = equal(value, s_author);
                if (is_author < 0) return -1;
                if (is_author) continue;
            }
            if (targets == NULL) return 0; /* names an item of a layer that has none */
            int ok = reference_ok(it, value, field, cycles, parts, targets);
            if (ok != 1) return ok;
        }
    }
    return 1;
}

static int clean(PyObject *rec) {
    PyObject *doc_id = get(rec, s_doc_id), *annotator = doc_id ? get(rec, s_annotator) : NULL;
    if (annotator == NULL) return -1;
    if (!name_ok(doc_id) || !name_ok(annotator)) return 0;
    PyObject *meta = get(rec, s_meta);
    if (meta == NULL) return -1;
    if (!ABSENT(meta)) {
        PyObject *language = get(meta, s_language);
        if (language == NULL) return -1;
        if (!ABSENT(language)) {
            int known = PySet_Contains(GOOD_TAGS, language);
            if (known < 0) return -1;
            if (!known) { /* most corpora use one or two tags: each is asked once */
                int tag = truth(PyObject_CallOneArg(IS_LANGUAGE_TAG, language));
                if (tag <= 0) return tag;
                if (PySet_GET_SIZE(GOOD_TAGS) > 10000) PySet_Clear(GOOD_TAGS);
                if (PySet_Add(GOOD_TAGS, language) < 0) return -1;
            }
        }
    }
    Vec spans, ids;
    vec_init(&spans);
    vec_init(&ids);
    PyObject *named = NULL;
    int ok = gather(rec, &spans, &named, &ids);
    if (ok == 1) ok = unique(&ids);
    if (ok != 1) goto done;
    PyObject *text = get(rec, s_text);
    if (text == NULL) {
        ok = -1;
        goto done;
    }
    if (!PyUnicode_Check(text)) {
        ok = 0;
        goto done;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < spans.n; i++) {
        ok = span_ok(text, n, kind, data, spans.v[i]);
        if (ok != 1) goto done;
    }
    ok = references_ok(rec, named);
    if (ok == 1) ok = guidelines_ok(rec, text);
done:
    vec_free(&spans);
    vec_free(&ids);
    Py_XDECREF(named);
    return ok;
}

/* clean(rec), then what it kept released. */
static int checked(PyObject *rec) {
    int ok = clean(rec);
    if (PyList_GET_SIZE(KEPT) > 0) { /* releasing may run Python code: the error waits */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        int failed = PyList_SetSlice(KEPT, 0, PyList_GET_SIZE(KEPT), NULL) < 0;
        if (type != NULL)
            PyErr_Restore(type, value, tb);
        else if (failed)
            ok = -1;
    }
    return ok;
}

static PyObject *is_clean(PyObject *self, PyObject *rec) {
    if (PLAN == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_native.configure has not been called");
        return NULL;
    }
    int ok = checked(rec);
    if (ok < 0) return NULL;
    return PyBool_FromLong(ok);
}

/* -- repeated keys ---------------------------------------------------------------------------- */

#define MAX_DEPTH 64
#define MAX_KEYS 256

typedef struct {
    const char *start;
    Py_ssize_t len;
} Key;

/* Whether an object of a JSON line (which decoded) gives a key twice: 1, 0, or 2 when the scan
 * cannot tell (a key with an escape, which may spell another key; objects nested deeper or
 * holding more keys than it keeps). Keys are compared as the line spells them. */
static int repeats(const char *p, const char *end) {
    Key keys[MAX_KEYS]; /* 4 KiB */
    Py_ssize_t frame_start[MAX_DEPTH]; /* index in keys of each open object's first key */
    char is_object[MAX_DEPTH];
    int depth = 0;
    Py_ssize_t nkeys = 0;
    while (p < end) {
        char c = *p++;
        if (c == '"') {
            /* The string ends at the first quote after an even run of backslashes (an escape
             * yields a backslash only as the second of a pair, `\\\\`). */
            const char *s = p, *e;
            for (;;) {
                e = memchr(p, '"', (size_t)(end - p));
                if (e == NULL) return 2; /* an unterminated string: not a line that decoded */
                const char *b = e;
                while (b > s && b[-1] == '\\') b--;
                p = e + 1;
                if ((e - b) % 2 == 0) break;
            }
            const char *q = p;
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
            if (q < end && *q == ':') {
                if (depth == 0 || !is_object[depth - 1] || memchr(s, '\\', (size_t)(e - s)) ||
                    nkeys == MAX_KEYS)
                    return 2;
                Py_ssize_t len = e - s;
                for (Py_ssize_t k = frame_start[depth - 1]; k < nkeys; k++)
                    if (keys[k].len == len && memcmp(keys[k].start, s, (size_t)len) == 0) return 1;
                keys[nkeys].start = s;
                keys[nkeys].len = len;
                nkeys++;
                p = q + 1;
            }
        } else if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH) return 2;
            frame_start[depth] = nkeys;
            is_object[depth++] = c == '{';
        } else if (c == '}' || c == ']') {
            if (depth == 0) return 2;
            nkeys = frame_start[--depth];
        }
    }
    return 0;
}

/* `repeats` of a bytes-like line: True, False, or None (cannot tell). */
static PyObject *repeats_a_key(PyObject *self, PyObject *arg) {
    Py_buffer buf;
    if (PyObject_GetBuffer(arg, &buf, PyBUF_SIMPLE) < 0) return NULL;
    int r = repeats(buf.buf, (const char *)buf.buf + buf.len);
    PyBuffer_Release(&buf);
    return Py_NewRef(r == 0 ? Py_False : r == 1 ? Py_True : Py_None);
}

/* The line decoded, when it is clean: it decodes into the structs, breaks no rule and gives no
 * key twice; else None (then the reference checks say what is wrong, if anything). */
static PyObject *clean_record(PyObject *self, PyObject *raw) {
    if (DECODE == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_native.configure has not been called");
        return NULL;
    }
    if (!PyBytes_Check(raw)) {
        PyErr_SetString(PyExc_TypeError, "clean_record takes bytes");
        return NULL;
    }
    PyObject *rec = PyObject_CallOneArg(DECODE, raw);
    if (rec == NULL) {
        if (!PyErr_ExceptionMatches(DECODE_ERRORS)) return NULL;
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    int ok = checked(rec);
    if (ok == 1) {
        const char *p = PyBytes_AS_STRING(raw);
        ok = repeats(p, p + PyBytes_GET_SIZE(raw)) == 0;
    }
    if (ok == 1) return rec;
    Py_DECREF(rec);
    if (ok < 0) return NULL;
    Py_RETURN_NONE;
}

/* -- configure -------------------------------------------------------------------------------- */

static PyObject *configure(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"decode",      "decode_errors",  "unset",       "plan",
                             "references",  "aliases",        "splits_word", "answer_follows",
                             "outer_first", "in_aside",       "target_occurs", "is_language_tag",
                             NULL};
    PyObject *decode, *decode_errors, *unset, *plan, *references, *aliases, *splits_word,
        *answer_follows, *outer_first, *in_aside, *target_occurs, *is_language_tag;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$OO!OO!O!O!OOOOOO", kwlist, &decode, &PyTuple_Type,
                                     &decode_errors, &unset, &PyTuple_Type, &plan, &PyTuple_Type,
                                     &references, &PyDict_Type, &aliases, &splits_word, &answer_follows,
                                     &outer_first, &in_aside, &target_occurs, &is_language_tag))
        return NULL;
    /* The plan's shape is checked here, once, so that is_clean can read it unchecked. */
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(plan); i++) {
        PyObject *step = PyTuple_GET_ITEM(plan, i);
        if (!PyTuple_Check(step) || PyTuple_GET_SIZE(step) != 5 ||
            !PyUnicode_Check(PyTuple_GET_ITEM(step, 0)) || !PyTuple_Check(PyTuple_GET_ITEM(step, 2)) ||
            !PyTuple_Check(PyTuple_GET_ITEM(step, 3))) {
            PyErr_SetString(PyExc_TypeError, "a plan step is (name, own, parts, conditional, targeted)");
            return NULL;
        }
        PyObject *conditional = PyTuple_GET_ITEM(step, 3);
        for (Py_ssize_t c = 0; c < PyTuple_GET_SIZE(conditional); c++) {
            PyObject *cond = PyTuple_GET_ITEM(conditional, c);
            if (!PyTuple_Check(cond) || PyTuple_GET_SIZE(cond) != 3) {
                PyErr_SetString(PyExc_TypeError, "a conditional part is (field, label field, label)");
                return NULL;
            }
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(references); i++) {
        PyObject *ref = PyTuple_GET_ITEM(references, i);
        if (!PyTuple_Check(ref) || PyTuple_GET_SIZE(ref) != 6 || !PyTuple_Check(PyTuple_GET_ITEM(ref, 5))) {
            PyErr_SetString(PyExc_TypeError, "a reference is (layer, field, target, author, cycles, parts)");
            return NULL;
        }
    }
    slots_clear(); /* the names read may be new ones */
    Py_XSETREF(DECODE, Py_NewRef(decode));
    Py_XSETREF(DECODE_ERRORS, Py_NewRef(decode_errors));
    Py_XSETREF(UNSET, Py_NewRef(unset));
    Py_XSETREF(PLAN, Py_NewRef(plan));
    Py_XSETREF(REFERENCES, Py_NewRef(references));
    Py_XSETREF(ALIASES, Py_NewRef(aliases));
    Py_XSETREF(SPLITS_WORD, Py_NewRef(splits_word));
    Py_XSETREF(ANSWER_FOLLOWS, Py_NewRef(answer_follows));
    Py_XSETREF(OUTER_FIRST, Py_NewRef(outer_first));
    Py_XSETREF(IN_ASIDE, Py_NewRef(in_aside));
    Py_XSETREF(TARGET_OCCURS, Py_NewRef(target_occurs));
    Py_XSETREF(IS_LANGUAGE_TAG, Py_NewRef(is_language_tag));
    Py_XSETREF(GOOD_TAGS, PySet_New(NULL));
    if (GOOD_TAGS == NULL) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "Set the layers' plan, the references and the Python predicates is_clean calls."},
    {"is_clean", is_clean, METH_O, "Whether a decoded record breaks none of the rules."},
    {"clean_record", clean_record, METH_O,
     "The line decoded when it is clean (decodes, breaks no rule, repeats no key), else None."},
    {"repeats_a_key", repeats_a_key, METH_O,
     "Whether an object of a decoded JSON line gives a key twice (None: cannot tell)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) {
    /* The attribute names is_clean reads, interned once. */
    PyObject **names[] = {
        &s_start, &s_end, &s_text, &s_id, &s_annotators, &s_doc_id, &s_annotator, &s_meta,
        &s_language, &s_content, &s_nested_in, &s_holder, &s_target, &s_type, &s_answer,
        &s_questions, &s_attributions, &s_stances, &s_author, &s_direct
    };
    const char *spelled[] = {
        "start", "end", "text", "id", "annotators", "doc_id", "annotator", "meta", "language",
        "content", "nested_in", "holder", "target", "type", "answer", "rhetorical_questions",
        "attributions", "stances", "author", "direct"
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((*names[i] = PyUnicode_InternFromString(spelled[i])) == NULL) return NULL;
    if ((KEPT = PyList_New(0)) == NULL) return NULL;
    PyObject *m = PyModule_Create(&module);
#ifndef NATIVE_SOURCE
#define NATIVE_SOURCE "" /* built without setup.py: no source to compare */
#endif
    if (m != NULL && PyModule_AddStringConstant(m, "SOURCE", NATIVE_SOURCE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
