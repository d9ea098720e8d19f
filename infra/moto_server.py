"""moto's server mode (moto[server] from PyPI), with DynamoDB requests applied
one at a time, as DynamoDB itself isolates them.

moto answers requests on many threads, but its DynamoDB backend is not safe
under concurrency: a conditional write checks and then writes with no lock
between, so two racing claims can both succeed; and TransactWriteItems, when a
condition fails, restores a copy of the whole table taken before it began,
erasing every write another thread committed in between (a lead's response
vanished under a burst of posts). Real DynamoDB does neither. Serialising the
DynamoDB requests (and only those: SQS long polls must not wait behind them)
makes the emulator's answers ones DynamoDB could give.

moto's TransactWriteItems also takes that copy of the whole table before every
transaction (to restore it if a condition fails): its cost grows with the
table, and the copies pile up faster than Python frees them (a local stack
reached 15 GB after a few hundred leads). Since requests are applied one at a
time here, the transaction instead keeps the items it touches (at most 100)
and puts just those back when it is cancelled: the same all-or-nothing, at
the cost of the transaction, not of the table.

moto's Query reads every item of the table, sorted, whatever it asks for
(the table's own key as much as an index's): a lead's history read cost as
much as a scan, and a local stack slowed as it filled (10,000 leads' items
made each query hundreds of milliseconds). Here a query of the table's own
key reads only that partition, and an index query skips the sort of the
whole table (moto sorts what matches anyway): answers unchanged.

Usage is moto_server's: python moto_server.py -H 127.0.0.1 -p 4566
"""

import copy
import inspect
import threading
import types

import moto.dynamodb.models as dynamodb_models
import moto.server as server
from moto.dynamodb.models.table import Table

_dynamodb = threading.Lock()


def _one_dynamodb_request_at_a_time(app):
    def wsgi(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with _dynamodb:
                # The whole answer is produced under the lock.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wsgi


def _touched_items(backend, transact_items):
    """(table, key, the item's attributes or None) for every item a transaction touches."""
    kept = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        name = op.get("TableName")
        table = backend.tables.get(name)
        if table is None:
            continue
        if "Item" in op:
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs.get(table.range_key_attr)
        else:
            key = op.get("Key")
        if not key or any(v is None for v in key.values()):
            continue
        try:
            current = backend.get_item(name, key)
        except Exception:  # a malformed key: moto's own code refuses it below
            continue
        kept.append((name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
    return kept


def _put_back(backend, kept):
    for name, key, attrs in reversed(kept):
        if attrs is None:
            if backend.get_item(name, key) is not None:
                backend.delete_item(name, key)
        else:
            backend.put_item(name, attrs, overwrite=True)


# moto's transaction, with its whole-table copy made a no-op (the copy module
# it sees is this one while the transaction runs, under the DynamoDB lock).
_no_table_copy = types.SimpleNamespace(
    deepcopy=lambda obj, memo=None: obj if isinstance(obj, Table) else copy.deepcopy(obj, memo)
)
_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def _transact_write_items_keeping_touched_items(self, transact_items):
    kept = _touched_items(self, transact_items)
    dynamodb_models.copy = _no_table_copy
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        _put_back(self, kept)
        raise
    finally:
        dynamodb_models.copy = copy


dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items_keeping_touched_items

_query = Table.query
_query_signature = inspect.signature(_query)


def _query_reading_what_it_needs(self, *args, **kwargs):
    bound = _query_signature.bind(self, *args, **kwargs)
    hash_key = bound.arguments.get("hash_key")
    if bound.arguments.get("index_name"):
        # The index's matches are sorted by moto itself: the whole table need not be.
        items = []
        for bucket in self.items.values():
            if self.range_key_attr:
                items.extend(bucket.values())
            else:
                items.append(bucket)
    elif hash_key is not None:
        bucket = self.items.get(hash_key)  # .get: `items` is a defaultdict
        if bucket is None:
            items = []
        elif self.range_key_attr:
            items = list(bucket.values())
        else:
            items = [bucket]
    else:
        return _query(self, *args, **kwargs)
    # Under the DynamoDB lock: no other request sees this instance attribute.
    self.all_items = lambda: items
    try:
        return _query(self, *args, **kwargs)
    finally:
        del self.all_items


Table.query = _query_reading_what_it_needs

_run_simple = server.run_simple


def _run_simple_serialised(host, port, app, **options):
    _run_simple(host, port, _one_dynamodb_request_at_a_time(app), **options)


server.run_simple = _run_simple_serialised

if __name__ == "__main__":
    server.main()
