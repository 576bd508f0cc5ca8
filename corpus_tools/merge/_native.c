/* Merge's usual case in C: `clusters`, one layer of one document clustered by span, and
 * `gold_items`, the gold items of one layer built from the candidates that won.
 *
 * `clusters(...)` does what `voting._Document._clusters` does for a layer in which no
 * annotator has two items on one span and (matching by overlap) no two different spans match:
 * one cluster per span, of every item on it, in span order, each member with its values in
 * comparable form (`voting._plan`). For any other layer it returns None and merge takes the
 * general way (`matching.cluster`). The Python code it mirrors stays in voting.py
 * (`_group_by_span`, `_partial_matches`, `_plan`'s `values`) and is what runs when the module
 * is switched off; tests/test_merge_native.py checks that both give the same merges.
 *
 * `candidates(...)` is voting._Document._vote_or_decide for the clusters that need no conflict:
 * every version agreeing, or a plurality for each attribute.
 *
 * `gold_items(...)` is gold._gold_item for each candidate of a layer, or None when one of them
 * is an adjudicator's item (`replace`) or has a version with a note, which gold.py writes.
 *
 * Nothing here keeps state between calls: what to read comes in the arguments. Python code can
 * run during a call (a `__missing__` of `norm`, an `__eq__` of a value), so the lists given are
 * copied into tuples, and the items read are held, before any of it runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

#include "../_slots.h" /* get_ref: a struct's field read from its slot */

/* How an attribute becomes comparable (voting._value_kind): the module's constants VALUE ...
 * LIST, which voting.py uses. */
enum { VALUE = 0, OWN = 1, SPAN = 2, TEXT = 3, REFERENCE = 4, LIST = 5 };

static PyObject *s_start, *s_end, *s_id, *s_text, *s_item, *s_values, *s_sources, *s_cluster,
    *s_annotators, *s_replacement, *s_versions, *s_note;

/* How gold._gold_item writes a field: the module's constants G_OWN ... G_VALUE, which gold.py
 * uses. */
enum { G_OWN = 0, G_SPAN = 1, G_REFERENCE = 2, G_TEXT = 3, G_VALUE = 4 };

/* One item of the layer: where its key span is, whose it is. */
typedef struct {
    long long start, end;
    Py_ssize_t annotator; /* index into the annotators */
    PyObject *item;       /* held until the call ends */
} Entry;

/* Offsets up to 2**53 are exact as doubles (larger ones take the general way). */
#define EXACT (1LL << 53)

static int by_span(const void *x, const void *y) {
    const Entry *a = x, *b = y;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    if (a->annotator != b->annotator) return a->annotator < b->annotator ? -1 : 1;
    return 0;
}

/* An int attribute that fits: 0; 1 when it is no such int; -1 on error. */
static int int_attr(PyObject *obj, PyObject *name, long long *out) {
    PyObject *v = get_ref(obj, name);
    if (v == NULL) return -1;
    int overflow = 0;
    int r = 1;
    if (PyLong_Check(v)) {
        *out = PyLong_AsLongLongAndOverflow(v, &overflow);
        r = (*out == -1 && PyErr_Occurred()) ? -1 : (overflow ? 1 : 0);
    }
    Py_DECREF(v);
    return r;
}

/* matching.span_score(a, b, "overlap", overlap) is not None: the Jaccard index of the two
 * ranges above 0 and at least the threshold (the division is Python's: both ints are at most
 * EXACT, so exact as doubles, and true division of such ints is the correctly rounded
 * quotient). */
static int overlap_match(const Entry *a, const Entry *b, double overlap) {
    long long lo = a->start > b->start ? a->start : b->start;
    long long hi = a->end < b->end ? a->end : b->end;
    long long inter = hi - lo > 0 ? hi - lo : 0;
    long long uni = (a->end - a->start) + (b->end - b->start) - inter;
    double j = uni > 0 ? (double)inter / (double)uni : 0.0;
    return j > 0 && j >= overlap;
}

/* voting._partial_matches: whether two different spans (the first entry of each group, in
 * span order) match by overlap. 1, 0, or -1 on error. */
static int partial_matches(Entry **firsts, Py_ssize_t k, double overlap) {
    int disjoint = 1;
    for (Py_ssize_t i = 1; i < k; i++)
        if (firsts[i - 1]->end > firsts[i]->start) {
            disjoint = 0;
            break;
        }
    if (disjoint) return 0;
    Entry **open = PyMem_New(Entry *, k);
    if (open == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t n = 0;
    int found = 0;
    for (Py_ssize_t i = 0; i < k && !found; i++) {
        Entry *span = firsts[i];
        Py_ssize_t kept = 0;
        for (Py_ssize_t j = 0; j < n; j++)
            if (open[j]->end > span->start) open[kept++] = open[j];
        n = kept;
        for (Py_ssize_t j = 0; j < n; j++)
            if (overlap_match(open[j], span, overlap)) {
                found = 1;
                break;
            }
        open[n++] = span;
    }
    PyMem_Free(open);
    return found;
}

/* `(start, end)` of an object with those attributes, a new reference. */
static PyObject *bounds(PyObject *obj) {
    PyObject *start = get_ref(obj, s_start);
    if (start == NULL) return NULL;
    PyObject *end = get_ref(obj, s_end);
    if (end == NULL) {
        Py_DECREF(start);
        return NULL;
    }
    PyObject *t = PyTuple_Pack(2, start, end);
    Py_DECREF(start);
    Py_DECREF(end);
    return t;
}

/* The values of one item (voting._plan's `values`), a new tuple. */
static PyObject *values(PyObject *steps, PyObject *item, PyObject *refs, PyObject *norm,
                        PyObject *author) {
    Py_ssize_t n = PyTuple_GET_SIZE(steps);
    PyObject *out = PyTuple_New(n);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *step = PyTuple_GET_ITEM(steps, i);
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(step, 0));
        PyObject *name = PyTuple_GET_ITEM(step, 1);
        PyObject *v;
        if (kind == OWN) {
            v = bounds(item);
        } else {
            v = get_ref(item, name);
            if (v != NULL && v != Py_None && kind != VALUE) {
                PyObject *w = NULL;
                if (kind == SPAN) {
                    w = bounds(v);
                } else if (kind == TEXT) {
                    w = PyObject_GetItem(norm, v);
                } else if (kind == REFERENCE) {
                    int ne = PyObject_RichCompareBool(v, author, Py_NE);
                    w = ne < 0 ? NULL : ne ? PyObject_GetItem(refs, v) : Py_NewRef(v);
                } else { /* LIST */
                    w = PySequence_Tuple(v);
                }
                Py_SETREF(v, w);
            }
        }
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, i, v);
    }
    return out;
}

/* clusters(layer, key, steps, annotators, items, refs, norm, overlap, targeted, author,
 *          version, cluster) -> list of clusters, or None
 *
 * layer: the layer's name (each cluster's `layer`); key: None when items are matched by their
 * own span, else the attribute holding it; steps: ((kind, attribute), ...) in the order of the
 * values; annotators: their names, sorted; items: each annotator's items (a list of lists in
 * the annotators' order); refs: each annotator's attribution ids -> cluster numbers (dicts, in
 * that order; filled in here for a targeted layer); norm: the remembered `normalise`;
 * overlap: the threshold, or a negative number for exact matching; author: schema.AUTHOR;
 * version, cluster: the classes to build (`_Version(annotator, item, values)`,
 * `_Cluster(layer, number, versions, annotators)`).
 */
static PyObject *clusters(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "clusters takes 12 arguments");
        return NULL;
    }
    PyObject *layer = args[0], *key = args[1], *steps = args[2], *annotators = args[3],
             *items = args[4], *refs = args[5], *norm = args[6], *author = args[9],
             *version = args[10], *cluster = args[11];
    double overlap = PyFloat_AsDouble(args[7]);
    int targeted = PyObject_IsTrue(args[8]);
    if ((overlap == -1.0 && PyErr_Occurred()) || targeted < 0) return NULL;
    if (!PyTuple_Check(steps) || !PyList_Check(annotators) || !PyList_Check(items) ||
        !PyList_Check(refs) || PyList_GET_SIZE(items) != PyList_GET_SIZE(annotators) ||
        PyList_GET_SIZE(refs) != PyList_GET_SIZE(annotators)) {
        PyErr_SetString(PyExc_TypeError, "clusters: steps a tuple; annotators, items, refs lists of one length");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(steps); i++) {
        PyObject *step = PyTuple_GET_ITEM(steps, i);
        if (!PyTuple_Check(step) || PyTuple_GET_SIZE(step) != 2 || !PyLong_Check(PyTuple_GET_ITEM(step, 0)) ||
            !PyUnicode_Check(PyTuple_GET_ITEM(step, 1))) {
            PyErr_SetString(PyExc_TypeError, "clusters: a step is (kind, attribute)");
            return NULL;
        }
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(step, 0));
        if (kind < VALUE || kind > LIST) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "clusters: no such kind of step");
            return NULL;
        }
    }
    Py_ssize_t na = PyList_GET_SIZE(annotators), total = 0;
    for (Py_ssize_t a = 0; a < na; a++) {
        PyObject *its = PyList_GET_ITEM(items, a);
        if (!PyList_Check(its)) {
            PyErr_SetString(PyExc_TypeError, "clusters: each annotator's items are a list");
            return NULL;
        }
        total += PyList_GET_SIZE(its);
    }
    if (total == 0) return PyList_New(0);
    items = PyList_AsTuple(items); /* the lists of items, held */
    if (items == NULL) return NULL;

    /* Each item is held as it is taken, so Python code run later (an attribute read of an
     * object that is no struct, `norm`'s `__missing__`, an `__eq__`) cannot pull it away; a
     * list whose size changes meanwhile is an error. */
    Entry *entries = PyMem_New(Entry, total);
    Entry **firsts = PyMem_New(Entry *, total + 1);
    PyObject *out = NULL, *names = NULL, *known = NULL;
    Py_ssize_t e = 0;
    if (entries == NULL || firsts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if ((names = PyList_AsTuple(annotators)) == NULL || (known = PyList_AsTuple(refs)) == NULL) goto done;
    for (Py_ssize_t a = 0; a < na; a++) {
        PyObject *its = PyTuple_GET_ITEM(items, a);
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(its) && e < total; i++) {
            PyObject *it = Py_NewRef(PyList_GET_ITEM(its, i));
            entries[e].item = it;
            entries[e].annotator = a;
            e++;
            PyObject *span = key == Py_None ? Py_NewRef(it) : get_ref(it, key);
            if (span == NULL) goto done;
            int r1 = int_attr(span, s_start, &entries[e - 1].start);
            int r2 = r1 != 0 ? r1 : int_attr(span, s_end, &entries[e - 1].end);
            Py_DECREF(span);
            if (r2 < 0) goto done;
            long long start = entries[e - 1].start, end = entries[e - 1].end;
            if (r2 > 0 || start < 0 || end < 0 || start > EXACT || end > EXACT) {
                /* not an offset as validated: the general way says what it makes of it */
                out = Py_NewRef(Py_None);
                goto done;
            }
        }
    }
    if (e != total) { /* a list changed size while read */
        PyErr_SetString(PyExc_RuntimeError, "clusters: the items changed while read");
        goto done;
    }
    qsort(entries, (size_t)total, sizeof(Entry), by_span);

    /* The groups: runs of one span; an annotator twice on one span sends the layer the
     * general way. */
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < total; i++) {
        if (i > 0 && entries[i].start == entries[i - 1].start && entries[i].end == entries[i - 1].end) {
            if (entries[i].annotator == entries[i - 1].annotator) {
                out = Py_NewRef(Py_None);
                goto done;
            }
            continue;
        }
        firsts[k++] = &entries[i];
    }
    firsts[k] = entries + total;
    if (overlap >= 0) {
        int partial = partial_matches(firsts, k, overlap);
        if (partial < 0) goto done;
        if (partial) {
            out = Py_NewRef(Py_None);
            goto done;
        }
    }

    /* Attribution ids -> cluster numbers first: values refer to them (nesting, within the
     * layer). */
    if (targeted) {
        for (Py_ssize_t g = 0; g < k; g++) {
            PyObject *number = PyLong_FromSsize_t(g);
            if (number == NULL) goto done;
            for (Entry *m = firsts[g]; m < firsts[g + 1]; m++) {
                PyObject *id = get_ref(m->item, s_id);
                int r = id == NULL ? -1 : PyObject_SetItem(PyTuple_GET_ITEM(known, m->annotator), id, number);
                Py_XDECREF(id);
                if (r < 0) {
                    Py_DECREF(number);
                    goto done;
                }
            }
            Py_DECREF(number);
        }
    }

    PyObject *result = PyList_New(k);
    if (result == NULL) goto done;
    for (Py_ssize_t g = 0; g < k; g++) {
        Py_ssize_t size = firsts[g + 1] - firsts[g];
        PyObject *versions = PyList_New(size), *members = PyList_New(size);
        PyObject *number = PyLong_FromSsize_t(g);
        PyObject *c = NULL;
        if (versions != NULL && members != NULL && number != NULL) {
            Py_ssize_t j = 0;
            for (Entry *m = firsts[g]; m < firsts[g + 1]; m++, j++) {
                PyObject *name = PyTuple_GET_ITEM(names, m->annotator);
                PyObject *vals = values(steps, m->item, PyTuple_GET_ITEM(known, m->annotator), norm, author);
                if (vals == NULL) break;
                PyObject *argv[3] = {name, m->item, vals};
                PyObject *v = PyObject_Vectorcall(version, argv, 3, NULL);
                Py_DECREF(vals);
                if (v == NULL) break;
                PyList_SET_ITEM(versions, j, v);
                PyList_SET_ITEM(members, j, Py_NewRef(name));
            }
            if (j == size) {
                PyObject *argv[4] = {layer, number, versions, members};
                c = PyObject_Vectorcall(cluster, argv, 4, NULL);
            }
        }
        Py_XDECREF(versions);
        Py_XDECREF(members);
        Py_XDECREF(number);
        if (c == NULL) {
            Py_DECREF(result);
            goto done;
        }
        PyList_SET_ITEM(result, g, c);
    }
    out = result;

done:
    for (Py_ssize_t i = 0; i < e; i++) Py_DECREF(entries[i].item);
    PyMem_Free(entries);
    PyMem_Free(firsts);
    Py_XDECREF(names);
    Py_XDECREF(known);
    Py_DECREF(items);
    return out;
}

/* The plurality vote of voting._Document._vote: `(winners, sources)`, or None on a tie.
 *
 * versions: a cluster's versions (a non-empty tuple, each with `values`, tuples of one
 * length). For each attribute, the value most versions give and the first version giving it,
 * as voting.py counts them (in a dict: values equal when `==`, the first one seen kept). None
 * when two values tie for the most, which voting.py reports.
 */
static PyObject *vote(PyObject *versions) {
    Py_ssize_t n = PyTuple_GET_SIZE(versions), width = -1;
    PyObject **rows = PyMem_New(PyObject *, n);
    Py_ssize_t *counts = PyMem_New(Py_ssize_t, n);
    PyObject *winners = NULL, *sources = NULL, *out = NULL;
    Py_ssize_t got = 0;
    if (rows == NULL || counts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (; got < n; got++) {
        rows[got] = get_ref(PyTuple_GET_ITEM(versions, got), s_values);
        if (rows[got] == NULL) goto done;
        if (!PyTuple_Check(rows[got]) || (width >= 0 && PyTuple_GET_SIZE(rows[got]) != width)) {
            got++;
            PyErr_SetString(PyExc_TypeError, "vote: every version's values are a tuple of one length");
            goto done;
        }
        width = PyTuple_GET_SIZE(rows[got]);
    }
    if ((winners = PyTuple_New(width)) == NULL || (sources = PyTuple_New(width)) == NULL) goto done;
    for (Py_ssize_t a = 0; a < width; a++) {
        Py_ssize_t top = 0, best = -1, at_top = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *value = PyTuple_GET_ITEM(rows[i], a);
            int seen = 0;
            for (Py_ssize_t j = 0; j < i && !seen; j++) {
                seen = PyObject_RichCompareBool(PyTuple_GET_ITEM(rows[j], a), value, Py_EQ);
                if (seen < 0) goto done;
                if (seen) counts[j]++; /* counted with its first occurrence */
            }
            counts[i] = seen ? 0 : 1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (counts[i] > top) {
                top = counts[i];
                best = i;
                at_top = 1;
            } else if (counts[i] == top && counts[i] > 0) {
                at_top++;
            }
        }
        if (at_top != 1) {
            out = Py_NewRef(Py_None);
            goto done;
        }
        PyTuple_SET_ITEM(winners, a, Py_NewRef(PyTuple_GET_ITEM(rows[best], a)));
        PyTuple_SET_ITEM(sources, a, Py_NewRef(PyTuple_GET_ITEM(versions, best)));
    }
    out = PyTuple_Pack(2, winners, sources);

done:
    if (rows != NULL)
        for (Py_ssize_t i = 0; i < got; i++) Py_DECREF(rows[i]);
    PyMem_Free(rows);
    PyMem_Free(counts);
    Py_XDECREF(winners);
    Py_XDECREF(sources);
    return out;
}

/* An attribute of the item of `sources[i]` (a version), a new reference. */
static PyObject *source_attr(PyObject *sources, Py_ssize_t i, PyObject *name) {
    if (i >= PyTuple_GET_SIZE(sources)) {
        PyErr_SetString(PyExc_IndexError, "gold_items: no source for a value");
        return NULL;
    }
    PyObject *item = get_ref(PyTuple_GET_ITEM(sources, i), s_item);
    if (item == NULL) return NULL;
    PyObject *v = get_ref(item, name);
    Py_DECREF(item);
    return v;
}

/* One gold item (gold._gold_item), a new dict. */
static PyObject *gold_item(PyObject *steps, PyObject *cand, PyObject *gold_id, PyObject *ids,
                           PyObject *author) {
    PyObject *item = PyDict_New(), *values = NULL, *sources = NULL, *cluster = NULL,
             *annotators = NULL;
    if (item == NULL) return NULL;
    if ((values = get_ref(cand, s_values)) == NULL ||
        (sources = get_ref(cand, s_sources)) == NULL ||
        (cluster = get_ref(cand, s_cluster)) == NULL ||
        (annotators = get_ref(cluster, s_annotators)) == NULL)
        goto fail;
    if (!PyTuple_Check(values) || !PyTuple_Check(sources)) {
        PyErr_SetString(PyExc_TypeError, "gold_items: a candidate's values and sources are tuples");
        goto fail;
    }
    if (PyDict_SetItem(item, s_id, gold_id) < 0 || PyDict_SetItem(item, s_annotators, annotators) < 0)
        goto fail;
    for (Py_ssize_t s = 0; s < PyTuple_GET_SIZE(steps); s++) {
        PyObject *step = PyTuple_GET_ITEM(steps, s);
        PyObject *name = PyTuple_GET_ITEM(step, 0);
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(step, 1));
        Py_ssize_t i = PyLong_AsSsize_t(PyTuple_GET_ITEM(step, 2));
        PyObject *v = NULL; /* a new reference, or NULL to leave the field out */
        if (kind == G_OWN || kind == G_SPAN || kind == G_TEXT) {
            v = source_attr(sources, kind == G_OWN ? 0 : i, name);
            if (v == NULL) goto fail;
            if (v == Py_None && kind != G_OWN) { /* the item's own span is written as it is */
                Py_CLEAR(v);
            } else if (kind == G_SPAN) {
                PyObject *span = PyDict_New();
                PyObject *parts[3] = {s_start, s_end, s_text};
                for (int p = 0; p < 3 && span != NULL; p++) {
                    PyObject *part = get_ref(v, parts[p]);
                    if (part == NULL || PyDict_SetItem(span, parts[p], part) < 0) Py_CLEAR(span);
                    Py_XDECREF(part);
                }
                Py_SETREF(v, span);
                if (v == NULL) goto fail;
            }
        } else {
            if (i >= PyTuple_GET_SIZE(values)) {
                PyErr_SetString(PyExc_IndexError, "gold_items: no such value");
                goto fail;
            }
            PyObject *value = PyTuple_GET_ITEM(values, i);
            if (value != Py_None) {
                if (kind == G_REFERENCE) {
                    int is_author = PyObject_RichCompareBool(value, author, Py_EQ);
                    if (is_author < 0) goto fail;
                    v = is_author ? Py_NewRef(author) : PyObject_GetItem(ids, value);
                } else {
                    v = PyTuple_Check(value) ? PySequence_List(value) : Py_NewRef(value);
                }
                if (v == NULL) goto fail;
            }
        }
        if (v != NULL) {
            int r = PyDict_SetItem(item, name, v);
            Py_DECREF(v);
            if (r < 0) goto fail;
        }
    }
    Py_DECREF(values);
    Py_DECREF(sources);
    Py_DECREF(cluster);
    Py_DECREF(annotators);
    return item;
fail:
    Py_DECREF(item);
    Py_XDECREF(values);
    Py_XDECREF(sources);
    Py_XDECREF(cluster);
    Py_XDECREF(annotators);
    return NULL;
}

/* Whether gold._gold_item writes the candidate as it is: not an adjudicator's item, and no
 * version with a note (gold._with_notes). 1, 0, -1 on error. */
static int usual_candidate(PyObject *cand) {
    PyObject *replacement = get_ref(cand, s_replacement);
    if (replacement == NULL) return -1;
    int replaced = replacement != Py_None;
    Py_DECREF(replacement);
    if (replaced) return 0;
    PyObject *cluster = get_ref(cand, s_cluster);
    PyObject *versions = cluster == NULL ? NULL : get_ref(cluster, s_versions);
    Py_XDECREF(cluster);
    if (versions == NULL) return -1;
    PyObject *iter = PyObject_GetIter(versions);
    Py_DECREF(versions);
    if (iter == NULL) return -1;
    int usual = 1;
    PyObject *v;
    while (usual == 1 && (v = PyIter_Next(iter)) != NULL) {
        PyObject *item = get_ref(v, s_item);
        PyObject *note = item == NULL ? NULL : get_ref(item, s_note);
        int has = note == NULL ? -1 : PyObject_IsTrue(note);
        usual = has < 0 ? -1 : !has;
        Py_XDECREF(note);
        Py_XDECREF(item);
        Py_DECREF(v);
    }
    Py_DECREF(iter);
    if (usual == 1 && PyErr_Occurred()) usual = -1;
    return usual;
}

/* gold_items(steps, candidates, prefix, ids, author) -> list of dicts, or None
 *
 * fields: ((field, kind, index in the values), ...) as gold._steps; candidates: the layer's
 * candidates in gold order (numbered from 1: `prefix` + number is each one's id); ids: the
 * gold ids of the attributions by cluster number; author: schema.AUTHOR. None when a candidate
 * is an adjudicator's item or a version of one has a note.
 */
static PyObject *gold_items(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 || !PyTuple_Check(args[0]) || !PyList_Check(args[1]) || !PyUnicode_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "gold_items(steps: tuple, candidates: list, prefix: str, ids, author)");
        return NULL;
    }
    PyObject *steps = args[0], *cands = args[1], *prefix = args[2], *ids = args[3], *author = args[4];
    for (Py_ssize_t s = 0; s < PyTuple_GET_SIZE(steps); s++) {
        PyObject *step = PyTuple_GET_ITEM(steps, s);
        if (!PyTuple_Check(step) || PyTuple_GET_SIZE(step) != 3 || !PyUnicode_Check(PyTuple_GET_ITEM(step, 0)) ||
            !PyLong_Check(PyTuple_GET_ITEM(step, 1)) || !PyLong_Check(PyTuple_GET_ITEM(step, 2))) {
            PyErr_SetString(PyExc_TypeError, "gold_items: a step is (field, kind, index)");
            return NULL;
        }
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(step, 1));
        Py_ssize_t index = PyLong_AsSsize_t(PyTuple_GET_ITEM(step, 2));
        if (kind < G_OWN || kind > G_VALUE || index < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "gold_items: no such step");
            return NULL;
        }
    }
    PyObject *held = PyList_AsTuple(cands); /* an __eq__ or a lookup in `ids` may run Python */
    if (held == NULL) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(held);
    PyObject *out = NULL;
    for (Py_ssize_t c = 0; c < n; c++) {
        int usual = usual_candidate(PyTuple_GET_ITEM(held, c));
        if (usual < 0) goto done;
        if (!usual) {
            out = Py_NewRef(Py_None);
            goto done;
        }
    }
    if ((out = PyList_New(n)) == NULL) goto done;
    for (Py_ssize_t c = 0; c < n; c++) {
        PyObject *gold_id = PyUnicode_FromFormat("%U%zd", prefix, c + 1);
        PyObject *item = gold_id == NULL ? NULL : gold_item(steps, PyTuple_GET_ITEM(held, c), gold_id, ids, author);
        Py_XDECREF(gold_id);
        if (item == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, c, item);
    }
done:
    Py_DECREF(held);
    return out;
}

/* candidates(clusters, threshold, candidate) -> list
 *
 * For each cluster (in a list), what voting._Document._vote_or_decide makes of it when that
 * needs no conflict: `candidate(values, sources, cluster)` when at least `threshold`
 * annotators proposed the item and every attribute has a single most frequent value (all
 * versions agreeing, the usual case, or by plurality); else None, and voting.py records the
 * conflict.
 */
static PyObject *candidates(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyList_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "candidates(clusters: list, threshold: int, candidate)");
        return NULL;
    }
    PyObject *candidate = args[2];
    Py_ssize_t threshold = PyLong_AsSsize_t(args[1]);
    if (threshold == -1 && PyErr_Occurred()) return NULL;
    PyObject *clusters = PyList_AsTuple(args[0]); /* held: an __eq__ of a value may run */
    if (clusters == NULL) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(clusters);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        Py_DECREF(clusters);
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *c = PyTuple_GET_ITEM(clusters, k);
        PyObject *versions = get_ref(c, s_versions), *cand = NULL, *values = NULL;
        if (versions == NULL) goto fail;
        if (!PyList_Check(versions)) {
            PyErr_SetString(PyExc_TypeError, "candidates: a cluster's versions are a list");
            goto fail;
        }
        Py_SETREF(versions, PyList_AsTuple(versions));
        if (versions == NULL) goto fail;
        Py_ssize_t size = PyTuple_GET_SIZE(versions);
        if (size == 0 || size < threshold) {
            cand = Py_NewRef(Py_None); /* too few votes: a conflict */
        } else {
            values = get_ref(PyTuple_GET_ITEM(versions, 0), s_values);
            if (values == NULL) goto fail;
            if (!PyTuple_Check(values)) {
                PyErr_SetString(PyExc_TypeError, "candidates: a version's values are a tuple");
                goto fail;
            }
            int agree = 1;
            for (Py_ssize_t i = 1; i < size && agree == 1; i++) {
                PyObject *other = get_ref(PyTuple_GET_ITEM(versions, i), s_values);
                if (other == NULL) goto fail;
                agree = PyObject_RichCompareBool(other, values, Py_EQ);
                Py_DECREF(other);
            }
            if (agree < 0) goto fail;
            if (agree) {
                Py_ssize_t width = PyTuple_GET_SIZE(values);
                PyObject *sources = PyTuple_New(width);
                if (sources == NULL) goto fail;
                for (Py_ssize_t i = 0; i < width; i++)
                    PyTuple_SET_ITEM(sources, i, Py_NewRef(PyTuple_GET_ITEM(versions, 0)));
                PyObject *argv[3] = {values, sources, c};
                cand = PyObject_Vectorcall(candidate, argv, 3, NULL);
                Py_DECREF(sources);
            } else {
                PyObject *won = vote(versions);
                if (won == NULL) goto fail;
                if (won == Py_None) {
                    cand = won; /* a tie: a conflict */
                } else {
                    PyObject *argv[3] = {PyTuple_GET_ITEM(won, 0), PyTuple_GET_ITEM(won, 1), c};
                    cand = PyObject_Vectorcall(candidate, argv, 3, NULL);
                    Py_DECREF(won);
                }
            }
            if (cand == NULL) goto fail;
        }
        Py_XDECREF(values);
        Py_DECREF(versions);
        PyList_SET_ITEM(out, k, cand);
        continue;
    fail:
        Py_XDECREF(values);
        Py_XDECREF(versions);
        Py_DECREF(out);
        Py_DECREF(clusters);
        return NULL;
    }
    Py_DECREF(clusters);
    return out;
}

static PyMethodDef methods[] = {
    {"clusters", (PyCFunction)(void (*)(void))clusters, METH_FASTCALL,
     "One layer of a document clustered by span (voting._Document._clusters), or None when "
     "it needs the general algorithm."},
    {"candidates", (PyCFunction)(void (*)(void))candidates, METH_FASTCALL,
     "What each cluster puts into gold when that needs no conflict (voting._vote_or_decide), else None."},
    {"gold_items", (PyCFunction)(void (*)(void))gold_items, METH_FASTCALL,
     "The gold items of one layer (gold._gold_item), or None when one is an adjudicator's."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject **names[] = {&s_start, &s_end, &s_id, &s_text, &s_item, &s_values, &s_sources,
                          &s_cluster, &s_annotators, &s_replacement, &s_versions, &s_note};
    const char *spelled[] = {"start", "end", "id", "text", "item", "values", "sources",
                             "cluster", "annotators", "replacement", "versions", "note"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((*names[i] = PyUnicode_InternFromString(spelled[i])) == NULL) return NULL;
    PyObject *m = PyModule_Create(&module);
#ifndef NATIVE_SOURCE
#define NATIVE_SOURCE "" /* built without setup.py: no source to compare */
#endif
    if (m == NULL) return NULL;
    struct {
        const char *name;
        int value;
    } constants[] = {{"VALUE", VALUE}, {"OWN", OWN}, {"SPAN", SPAN}, {"TEXT", TEXT},
                     {"REFERENCE", REFERENCE}, {"LIST", LIST}, {"G_OWN", G_OWN},
                     {"G_SPAN", G_SPAN}, {"G_REFERENCE", G_REFERENCE}, {"G_TEXT", G_TEXT},
                     {"G_VALUE", G_VALUE}};
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    if (PyModule_AddStringConstant(m, "SOURCE", NATIVE_SOURCE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
