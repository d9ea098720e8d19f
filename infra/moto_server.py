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

moto's Scan sorts the whole table for every page (comparing keys through
their DynamoType, casting each value at each comparison) and then walks it
from the start to find where the previous page ended: a paginated scan of a
table of n items cost O(n log n) per page, quadratic over the scan (the load
run's reconciliation scan of 150,000 items held the emulator for minutes).
Here the table's order is computed with each key read once, and the page
starts after the previous one's last key by bisection: same order, same
pages.

moto's SQS counts a queue's messages (visible, delayed, in flight: a pass
over every message, each reading the clock through datetime) whenever it
builds a queue's attributes, and it builds them for every SendMessage (to
read ContentBasedDeduplication) and three times for every attribute a
ReceiveMessage reads (MessageRetentionPeriod, once per message received):
with a backlog of n messages each call cost O(n), so a queue that fell
behind fell further (under `make load` the emulator spent 40% of its time
counting). Here the counts are made only when a caller asks for them, and
SQS reads the clock with time.time(): answers unchanged.

moto's Cognito lets a signed-in user write any attribute with their access
token (UpdateUserAttributes), whatever the app client's WriteAttributes say,
and applies a new email at once, although the pool requires it verified
first (UserAttributeUpdateSettings.AttributesRequireVerificationBeforeUpdate).
Cognito refuses the first (NotAuthorizedException) and keeps the old address
until the new one is verified (or an administrator sets email_verified true
in the same call): a rep could otherwise name themselves someone else. Both
are applied here, as Cognito does.

moto's `/moto-api/data.json` walks every model of every service while other
requests keep changing them: when one does mid-walk (a new user, an email
recorded), Python stops the walk ("changed size during iteration") and the
answer is a 500, which a test reading the sent mail saw as "no mail". Here
the walk is simply made again, as a reader of a busy table would.

Usage is moto_server's: python moto_server.py -H 127.0.0.1 -p 4566
"""

import copy
import inspect
import threading
import time
import types
from bisect import bisect_right

import moto.cognitoidp.models as cognito_models
import moto.dynamodb.models as dynamodb_models
import moto.moto_api._internal.responses as moto_api_responses
import moto.server as server
import moto.sqs.models as sqs_models
from moto.cognitoidp.exceptions import NotAuthorizedError
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


def _every_item(table):
    """The table's items, unsorted."""
    items = []
    for bucket in table.items.values():
        if table.range_key_attr:
            items.extend(bucket.values())
        else:
            items.append(bucket)
    return items


def _over(table, items, method, *args, **kwargs):
    """moto's `method` of `table`, reading `items` where it reads the whole table."""
    # Under the DynamoDB lock: no other request sees this instance attribute.
    table.all_items = lambda: items
    try:
        return method(table, *args, **kwargs)
    finally:
        del table.all_items


def _query_reading_what_it_needs(self, *args, **kwargs):
    bound = _query_signature.bind(self, *args, **kwargs)
    hash_key = bound.arguments.get("hash_key")
    if bound.arguments.get("index_name"):
        # The index's matches are sorted by moto itself: the whole table need not be.
        items = _every_item(self)
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
    return _over(self, items, _query, *args, **kwargs)


Table.query = _query_reading_what_it_needs

_scan = Table.scan
_scan_signature = inspect.signature(_scan)


def _order(table, key):
    """An item's or a key's place in moto's order of the table (hash, then range)."""
    if table.range_key_attr is None:
        return (key[table.hash_key_attr].cast_value,)
    return (key[table.hash_key_attr].cast_value, key[table.range_key_attr].cast_value)


def _scan_from_where_it_stopped(self, *args, **kwargs):
    bound = _scan_signature.bind(self, *args, **kwargs)
    if bound.arguments.get("index_name"):
        return _scan(self, *args, **kwargs)
    keyed = sorted(((_order(self, item.attrs), item) for item in _every_item(self)), key=lambda p: p[0])
    start = bound.arguments.get("exclusive_start_key")
    if start:
        after = _order(self, {k: dynamodb_models.DynamoType(v) for k, v in start.items()})
        keyed = keyed[bisect_right([k for k, _ in keyed], after):]
    return _over(self, [item for _, item in keyed], _scan, *args, **kwargs)


Table.scan = _scan_from_where_it_stopped

_unix_time = sqs_models.unix_time


def _unix_time_now(dt=None):
    return time.time() if dt is None else _unix_time(dt)


def _unix_time_millis_now(dt=None):
    return _unix_time_now(dt) * 1000.0


sqs_models.unix_time = _unix_time_now
sqs_models.unix_time_millis = _unix_time_millis_now

# Whether this request's thread may skip counting a queue's messages.
_uncounted = threading.local()
_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)


def _counted_only_when_asked(count):
    def get(self):
        return 0 if getattr(_uncounted, "skip", False) else count.fget(self)

    return property(get)


for _name in _COUNTS:
    setattr(sqs_models.Queue, _name, _counted_only_when_asked(getattr(sqs_models.Queue, _name)))


def _without_counts(method, needs_counts=lambda *args, **kwargs: False):
    def wrapper(self, *args, **kwargs):
        if needs_counts(*args, **kwargs):
            return method(self, *args, **kwargs)
        before = getattr(_uncounted, "skip", False)
        _uncounted.skip = True
        try:
            return method(self, *args, **kwargs)
        finally:
            _uncounted.skip = before

    return wrapper


def _asks_for_counts(queue_name, attribute_names):
    return any(n == "All" or n.startswith("ApproximateNumberOfMessages") for n in attribute_names)


sqs_models.SQSBackend.get_queue_attributes = _without_counts(
    sqs_models.SQSBackend.get_queue_attributes, _asks_for_counts
)
sqs_models.SQSBackend.send_message = _without_counts(sqs_models.SQSBackend.send_message)

_update_user_attributes = cognito_models.CognitoIdpBackend.update_user_attributes
_admin_update_user_attributes = cognito_models.CognitoIdpBackend.admin_update_user_attributes


def _verified_updates_only(user_pool, attributes):
    """The attributes an update applies now: one the pool requires verified
    before an update waits (is left out) unless the same call verifies it."""
    settings = user_pool.extended_config.get("UserAttributeUpdateSettings") or {}
    pending = set(settings.get("AttributesRequireVerificationBeforeUpdate") or [])
    verified = {
        a["Name"][: -len("_verified")]
        for a in attributes
        if a["Name"].endswith("_verified") and str(a.get("Value", "")).lower() == "true"
    }
    return [a for a in attributes if a["Name"] not in pending - verified]


def _update_user_attributes_as_cognito(self, access_token, attributes):
    for user_pool in self.user_pools.values():
        if access_token in user_pool.access_tokens:
            client_id, _ = user_pool.access_tokens[access_token]
            client = user_pool.clients.get(client_id)
            writable = client.extended_config.get("WriteAttributes") if client else None
            if writable is not None:
                for a in attributes:
                    if a["Name"] not in writable:
                        raise NotAuthorizedError(
                            "A client attempted to write unauthorized attribute"
                        )
            # A user never verifies their own address by saying so.
            attributes = [a for a in attributes if not a["Name"].endswith("_verified")]
            return _update_user_attributes(
                self, access_token, _verified_updates_only(user_pool, attributes)
            )
    return _update_user_attributes(self, access_token, attributes)


def _admin_update_user_attributes_as_cognito(self, user_pool_id, username, attributes):
    user_pool = self.describe_user_pool(user_pool_id)
    return _admin_update_user_attributes(
        self, user_pool_id, username, _verified_updates_only(user_pool, attributes)
    )


cognito_models.CognitoIdpBackend.update_user_attributes = _update_user_attributes_as_cognito
cognito_models.CognitoIdpBackend.admin_update_user_attributes = (
    _admin_update_user_attributes_as_cognito
)

_model_data = moto_api_responses.MotoAPIResponse.model_data


def _model_data_walked_again_when_changed(self, *args, **kwargs):
    for _ in range(20):
        try:
            return _model_data(self, *args, **kwargs)
        except RuntimeError:
            # Another request changed a model mid-walk: walk again.
            time.sleep(0.01)
    return _model_data(self, *args, **kwargs)


moto_api_responses.MotoAPIResponse.model_data = _model_data_walked_again_when_changed

_run_simple = server.run_simple


def _run_simple_serialised(host, port, app, **options):
    _run_simple(host, port, _one_dynamodb_request_at_a_time(app), **options)


server.run_simple = _run_simple_serialised

if __name__ == "__main__":
    server.main()
