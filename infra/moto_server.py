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

Usage is moto_server's: python moto_server.py -H 127.0.0.1 -p 4566
"""

import threading

import moto.server as server

_dynamodb = threading.Lock()


def _one_dynamodb_request_at_a_time(app):
    def wsgi(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with _dynamodb:
                # The whole answer is produced under the lock.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wsgi


_run_simple = server.run_simple


def _run_simple_serialised(host, port, app, **options):
    _run_simple(host, port, _one_dynamodb_request_at_a_time(app), **options)


server.run_simple = _run_simple_serialised

if __name__ == "__main__":
    server.main()
