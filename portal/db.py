"""The database: engine, session factory, declarative base and the unit of work.

Invariants this module keeps:

- Only a :class:`UnitOfWork` commits. Services receive its session, change
  things and return; the unit of work rolls back everything unless
  :meth:`UnitOfWork.commit` is called, and runs the after-commit callbacks
  (e-mail, outgoing webhooks) only once the commit has succeeded.
- On SQLite every transaction that may write starts with ``BEGIN IMMEDIATE``:
  SQLite has no row locks, so a write that depends on a balance must hold the
  database's write lock from its first read (DESIGN.md, ledger rule 7). On
  PostgreSQL the ledger takes row locks (``SELECT ... FOR UPDATE``) instead.
- A *read-only* unit of work (``unit_of_work(read_only=True)``: what a GET request
  gets) takes no write lock: on SQLite it starts with a plain ``BEGIN`` and
  ``PRAGMA query_only`` on, so readers run side by side (WAL) instead of queueing
  for the one write lock; on PostgreSQL it is a ``READ ONLY`` transaction. Either
  way a write attempted in it fails at once, the same on both databases, rather
  than working on one and racing on the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import DateTime, MetaData, Numeric, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

# Execution option of the engine read-only units of work use (see the module docstring).
READ_ONLY = "portal_read_only"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ExactDecimal(TypeDecorator):
    """A Decimal column that never becomes a float: NUMERIC on PostgreSQL, TEXT on SQLite.

    SQLite has no decimal type: a NUMERIC column there stores ``1.5`` as a
    REAL. Percentages and quantities are kept as their exact text instead.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(self.impl.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("a float cannot be stored as an exact decimal")
        exact = Decimal(value).quantize(self._quantum)
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator):
    """A timestamp kept in UTC: aware values are converted on the way in, and come
    back aware (SQLite stores no offset, so without this 22:00-05:00 would read
    back as 22:00). Naive datetimes are refused: their zone is unknown."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a timestamp must be timezone-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class folded(FunctionElement):
    """``lower(column)``, compared byte by byte: the key of a case-blind prefix search.

    A prefix search as a range on it (``>= 'po-12' AND < 'po-13'``) is an index
    range scan on both databases, where ``lower(x) LIKE 'po-12%'`` is a full scan.
    The range is right only in byte order: SQLite compares text that way
    (``BINARY``); PostgreSQL needs ``COLLATE "C"`` (its default collation may sort
    '-' as if it were not there). Indexes on it (migration 0011) use the same SQL.
    """

    type = String()
    name = "folded"
    inherit_cache = True


@compiles(folded)
def _folded(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _folded_postgresql(element, compiler, **kw):
    return f'(lower({compiler.process(element.clauses, **kw)}) COLLATE "C")'


def prefix_range(prefix: str) -> tuple[str, str | None]:
    """Return the bounds of the texts starting with ``prefix``, lowercased, in byte order:
    at least the first, below the second (None: no upper bound)."""
    low = prefix.lower()
    for end in range(len(low) - 1, -1, -1):
        after = ord(low[end]) + 1
        if 0xD800 <= after <= 0xDFFF:  # surrogates are not characters: skip them
            after = 0xE000
        if after <= 0x10FFFF:
            return low, low[:end] + chr(after)
    return low, None


# Indexes on expressions (above): Alembic's autogenerate cannot compare the SQL a
# database reflects for them with the model's, so it leaves them to the migrations.
EXPRESSION_INDEXES = frozenset({"ix_ar_invoices_customer_number_folded",
                                "ix_ar_invoices_customer_po_folded"})


def autogenerate_includes(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's ``include_object``: everything but :data:`EXPRESSION_INDEXES`."""
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


class Base(DeclarativeBase):
    """Declarative base of every table the portal owns."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine for ``url`` with the portal's connection settings."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot start an
    # IMMEDIATE transaction, so take it over, as the SQLAlchemy docs describe:
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("PRAGMA query_only = 1")
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("PRAGMA query_only = 0")
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(session_or_engine) -> bool:
    """Tell whether the session's (or engine's) database is PostgreSQL."""
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) \
        else session_or_engine
    return bind.dialect.name == "postgresql"


class Database:
    """An engine and its session factory: one per app (or per test database)."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        options = {READ_ONLY: True}
        if self.engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        self.read_session_factory = sessionmaker(
            bind=self.engine.execution_options(**options), expire_on_commit=False)

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """Start a unit of work on a new session (``read_only``: one that cannot write)."""
        if read_only:
            return UnitOfWork(self.read_session_factory, read_only=True)
        return UnitOfWork(self.session_factory)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session for reads; it is rolled back and closed afterwards."""
        session = self.session_factory()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


class UnitOfWork:
    """A transaction that rolls back unless :meth:`commit` is called.

    Use as a context manager::

        with db.unit_of_work() as uow:
            payments.settle(uow.session, payment_id)
            uow.after_commit(lambda: send_receipt(payment_id))
            uow.commit()
    """

    def __init__(self, session_factory: Callable[[], Session], *,
                 read_only: bool = False) -> None:
        self._session_factory = session_factory
        self.read_only = read_only
        self.session: Session
        self._callbacks: list[Callable[[], None]] = []
        self.committed = False

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after a successful commit (never if rolled back)."""
        self._callbacks.append(callback)

    def commit(self) -> None:
        """Commit the session, then run the after-commit callbacks in order."""
        self.session.commit()
        self.committed = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()
