"""psycopg2.errors: one exception class per SQLSTATE psycopg2 knows, the DB-API bases, ``lookup()``.

psycopg2 raises the class of an error's SQLSTATE when it has one (``errors.UniqueViolation`` for 23505)
and the DB-API base of the SQLSTATE's class otherwise. The 254 classes here have psycopg2 2.9.13's names,
bases, ``__module__`` (``psycopg2.errors``) and ``__qualname__``, and no docstring, as psycopg2's
C-made classes; ``tests/fake_psycopg2/test_errors.py`` compares them with the real module.

``sqlstate_errors`` (SQLSTATE -> class, what psycopg2 keeps in ``psycopg2._psycopg``) is an attribute
of this module's type rather than a global, so that ``dir()`` and ``vars()`` of the module list exactly
psycopg2's names; ``from greenpsyco.fake_psycopg2.errors import sqlstate_errors`` works all the same.
Helper names used while building the module are deleted at its end for the same reason.
"""

import sys
import types
import typing

from greenpsyco.fake_psycopg2._exceptions import DatabaseError as DatabaseError
from greenpsyco.fake_psycopg2._exceptions import DataError as DataError
from greenpsyco.fake_psycopg2._exceptions import Error as Error
from greenpsyco.fake_psycopg2._exceptions import IntegrityError as IntegrityError
from greenpsyco.fake_psycopg2._exceptions import InterfaceError as InterfaceError
from greenpsyco.fake_psycopg2._exceptions import InternalError as InternalError
from greenpsyco.fake_psycopg2._exceptions import NotSupportedError as NotSupportedError
from greenpsyco.fake_psycopg2._exceptions import OperationalError as OperationalError
from greenpsyco.fake_psycopg2._exceptions import ProgrammingError as ProgrammingError
from greenpsyco.fake_psycopg2._exceptions import QueryCanceledError as QueryCanceledError
from greenpsyco.fake_psycopg2._exceptions import TransactionRollbackError as TransactionRollbackError
from greenpsyco.fake_psycopg2._exceptions import Warning as Warning

# Class 02 - No Data


class NoData(DatabaseError): ...


class NoAdditionalDynamicResultSetsReturned(DatabaseError): ...


# Class 03 - SQL Statement Not Yet Complete


class SqlStatementNotYetComplete(DatabaseError): ...


# Class 08 - Connection Exception


class ConnectionException(OperationalError): ...


class SqlclientUnableToEstablishSqlconnection(OperationalError): ...


class ConnectionDoesNotExist(OperationalError): ...


class SqlserverRejectedEstablishmentOfSqlconnection(OperationalError): ...


class ConnectionFailure(OperationalError): ...


class TransactionResolutionUnknown(OperationalError): ...


class ProtocolViolation(OperationalError): ...


# Class 09 - Triggered Action Exception


class TriggeredActionException(DatabaseError): ...


# Class 0A - Feature Not Supported


class FeatureNotSupported(NotSupportedError): ...


# Class 0B - Invalid Transaction Initiation


class InvalidTransactionInitiation(DatabaseError): ...


# Class 0F - Locator Exception


class LocatorException(DatabaseError): ...


class InvalidLocatorSpecification(DatabaseError): ...


# Class 0L - Invalid Grantor


class InvalidGrantor(DatabaseError): ...


class InvalidGrantOperation(DatabaseError): ...


# Class 0P - Invalid Role Specification


class InvalidRoleSpecification(DatabaseError): ...


# Class 0Z - Diagnostics Exception


class DiagnosticsException(DatabaseError): ...


class StackedDiagnosticsAccessedWithoutActiveHandler(DatabaseError): ...


# Class 10 - XQuery Error


class InvalidArgumentForXquery(DatabaseError): ...


# Class 20 - Case Not Found


class CaseNotFound(ProgrammingError): ...


# Class 21 - Cardinality Violation


class CardinalityViolation(ProgrammingError): ...


# Class 22 - Data Exception


class DataException(DataError): ...


class StringDataRightTruncation(DataError): ...


class NullValueNoIndicatorParameter(DataError): ...


class NumericValueOutOfRange(DataError): ...


class NullValueNotAllowed(DataError): ...


class ErrorInAssignment(DataError): ...


class InvalidDatetimeFormat(DataError): ...


class DatetimeFieldOverflow(DataError): ...


class InvalidTimeZoneDisplacementValue(DataError): ...


class EscapeCharacterConflict(DataError): ...


class InvalidUseOfEscapeCharacter(DataError): ...


class InvalidEscapeOctet(DataError): ...


class ZeroLengthCharacterString(DataError): ...


class MostSpecificTypeMismatch(DataError): ...


class SequenceGeneratorLimitExceeded(DataError): ...


class NotAnXmlDocument(DataError): ...


class InvalidXmlDocument(DataError): ...


class InvalidXmlContent(DataError): ...


class InvalidXmlComment(DataError): ...


class InvalidXmlProcessingInstruction(DataError): ...


class InvalidIndicatorParameterValue(DataError): ...


class SubstringError(DataError): ...


class DivisionByZero(DataError): ...


class InvalidPrecedingOrFollowingSize(DataError): ...


class InvalidArgumentForNtileFunction(DataError): ...


class IntervalFieldOverflow(DataError): ...


class InvalidArgumentForNthValueFunction(DataError): ...


class InvalidCharacterValueForCast(DataError): ...


class InvalidEscapeCharacter(DataError): ...


class InvalidRegularExpression(DataError): ...


class InvalidArgumentForLogarithm(DataError): ...


class InvalidArgumentForPowerFunction(DataError): ...


class InvalidArgumentForWidthBucketFunction(DataError): ...


class InvalidRowCountInLimitClause(DataError): ...


class InvalidRowCountInResultOffsetClause(DataError): ...


class CharacterNotInRepertoire(DataError): ...


class IndicatorOverflow(DataError): ...


class InvalidParameterValue(DataError): ...


class UnterminatedCString(DataError): ...


class InvalidEscapeSequence(DataError): ...


class StringDataLengthMismatch(DataError): ...


class TrimError(DataError): ...


class ArraySubscriptError(DataError): ...


class InvalidTablesampleRepeat(DataError): ...


class InvalidTablesampleArgument(DataError): ...


class DuplicateJsonObjectKeyValue(DataError): ...


class InvalidArgumentForSqlJsonDatetimeFunction(DataError): ...


class InvalidJsonText(DataError): ...


class InvalidSqlJsonSubscript(DataError): ...


class MoreThanOneSqlJsonItem(DataError): ...


class NoSqlJsonItem(DataError): ...


class NonNumericSqlJsonItem(DataError): ...


class NonUniqueKeysInAJsonObject(DataError): ...


class SingletonSqlJsonItemRequired(DataError): ...


class SqlJsonArrayNotFound(DataError): ...


class SqlJsonMemberNotFound(DataError): ...


class SqlJsonNumberNotFound(DataError): ...


class SqlJsonObjectNotFound(DataError): ...


class TooManyJsonArrayElements(DataError): ...


class TooManyJsonObjectMembers(DataError): ...


class SqlJsonScalarRequired(DataError): ...


class SqlJsonItemCannotBeCastToTargetType(DataError): ...


class FloatingPointException(DataError): ...


class InvalidTextRepresentation(DataError): ...


class InvalidBinaryRepresentation(DataError): ...


class BadCopyFileFormat(DataError): ...


class UntranslatableCharacter(DataError): ...


class NonstandardUseOfEscapeCharacter(DataError): ...


# Class 23 - Integrity Constraint Violation


class IntegrityConstraintViolation(IntegrityError): ...


class RestrictViolation(IntegrityError): ...


class NotNullViolation(IntegrityError): ...


class ForeignKeyViolation(IntegrityError): ...


class UniqueViolation(IntegrityError): ...


class CheckViolation(IntegrityError): ...


class ExclusionViolation(IntegrityError): ...


# Class 24 - Invalid Cursor State


class InvalidCursorState(InternalError): ...


# Class 25 - Invalid Transaction State


class InvalidTransactionState(InternalError): ...


class ActiveSqlTransaction(InternalError): ...


class BranchTransactionAlreadyActive(InternalError): ...


class InappropriateAccessModeForBranchTransaction(InternalError): ...


class InappropriateIsolationLevelForBranchTransaction(InternalError): ...


class NoActiveSqlTransactionForBranchTransaction(InternalError): ...


class ReadOnlySqlTransaction(InternalError): ...


class SchemaAndDataStatementMixingNotSupported(InternalError): ...


class HeldCursorRequiresSameIsolationLevel(InternalError): ...


class NoActiveSqlTransaction(InternalError): ...


class InFailedSqlTransaction(InternalError): ...


class IdleInTransactionSessionTimeout(InternalError): ...


class TransactionTimeout(InternalError): ...


# Class 26 - Invalid SQL Statement Name


class InvalidSqlStatementName(OperationalError): ...


# Class 27 - Triggered Data Change Violation


class TriggeredDataChangeViolation(OperationalError): ...


# Class 28 - Invalid Authorization Specification


class InvalidAuthorizationSpecification(OperationalError): ...


class InvalidPassword(OperationalError): ...


# Class 2B - Dependent Privilege Descriptors Still Exist


class DependentPrivilegeDescriptorsStillExist(InternalError): ...


class DependentObjectsStillExist(InternalError): ...


# Class 2D - Invalid Transaction Termination


class InvalidTransactionTermination(InternalError): ...


# Class 2F - SQL Routine Exception


class SqlRoutineException(InternalError): ...


class ModifyingSqlDataNotPermitted(InternalError): ...


class ProhibitedSqlStatementAttempted(InternalError): ...


class ReadingSqlDataNotPermitted(InternalError): ...


class FunctionExecutedNoReturnStatement(InternalError): ...


# Class 34 - Invalid Cursor Name


class InvalidCursorName(OperationalError): ...


# Class 38 - External Routine Exception


class ExternalRoutineException(InternalError): ...


class ContainingSqlNotPermitted(InternalError): ...


class ModifyingSqlDataNotPermittedExt(InternalError): ...


class ProhibitedSqlStatementAttemptedExt(InternalError): ...


class ReadingSqlDataNotPermittedExt(InternalError): ...


# Class 39 - External Routine Invocation Exception


class ExternalRoutineInvocationException(InternalError): ...


class InvalidSqlstateReturned(InternalError): ...


class NullValueNotAllowedExt(InternalError): ...


class TriggerProtocolViolated(InternalError): ...


class SrfProtocolViolated(InternalError): ...


class EventTriggerProtocolViolated(InternalError): ...


# Class 3B - Savepoint Exception


class SavepointException(InternalError): ...


class InvalidSavepointSpecification(InternalError): ...


# Class 3D - Invalid Catalog Name


class InvalidCatalogName(ProgrammingError): ...


# Class 3F - Invalid Schema Name


class InvalidSchemaName(ProgrammingError): ...


# Class 40 - Transaction Rollback


class TransactionRollback(TransactionRollbackError): ...


class SerializationFailure(TransactionRollbackError): ...


class TransactionIntegrityConstraintViolation(TransactionRollbackError): ...


class StatementCompletionUnknown(TransactionRollbackError): ...


class DeadlockDetected(TransactionRollbackError): ...


# Class 42 - Syntax Error or Access Rule Violation


class SyntaxErrorOrAccessRuleViolation(ProgrammingError): ...


class InsufficientPrivilege(ProgrammingError): ...


class SyntaxError(ProgrammingError): ...


class InvalidName(ProgrammingError): ...


class InvalidColumnDefinition(ProgrammingError): ...


class NameTooLong(ProgrammingError): ...


class DuplicateColumn(ProgrammingError): ...


class AmbiguousColumn(ProgrammingError): ...


class UndefinedColumn(ProgrammingError): ...


class UndefinedObject(ProgrammingError): ...


class DuplicateObject(ProgrammingError): ...


class DuplicateAlias(ProgrammingError): ...


class DuplicateFunction(ProgrammingError): ...


class AmbiguousFunction(ProgrammingError): ...


class GroupingError(ProgrammingError): ...


class DatatypeMismatch(ProgrammingError): ...


class WrongObjectType(ProgrammingError): ...


class InvalidForeignKey(ProgrammingError): ...


class CannotCoerce(ProgrammingError): ...


class UndefinedFunction(ProgrammingError): ...


class GeneratedAlways(ProgrammingError): ...


class ReservedName(ProgrammingError): ...


class UndefinedTable(ProgrammingError): ...


class UndefinedParameter(ProgrammingError): ...


class DuplicateCursor(ProgrammingError): ...


class DuplicateDatabase(ProgrammingError): ...


class DuplicatePreparedStatement(ProgrammingError): ...


class DuplicateSchema(ProgrammingError): ...


class DuplicateTable(ProgrammingError): ...


class AmbiguousParameter(ProgrammingError): ...


class AmbiguousAlias(ProgrammingError): ...


class InvalidColumnReference(ProgrammingError): ...


class InvalidCursorDefinition(ProgrammingError): ...


class InvalidDatabaseDefinition(ProgrammingError): ...


class InvalidFunctionDefinition(ProgrammingError): ...


class InvalidPreparedStatementDefinition(ProgrammingError): ...


class InvalidSchemaDefinition(ProgrammingError): ...


class InvalidTableDefinition(ProgrammingError): ...


class InvalidObjectDefinition(ProgrammingError): ...


class IndeterminateDatatype(ProgrammingError): ...


class InvalidRecursion(ProgrammingError): ...


class WindowingError(ProgrammingError): ...


class CollationMismatch(ProgrammingError): ...


class IndeterminateCollation(ProgrammingError): ...


# Class 44 - WITH CHECK OPTION Violation


class WithCheckOptionViolation(ProgrammingError): ...


# Class 53 - Insufficient Resources


class InsufficientResources(OperationalError): ...


class DiskFull(OperationalError): ...


class OutOfMemory(OperationalError): ...


class TooManyConnections(OperationalError): ...


class ConfigurationLimitExceeded(OperationalError): ...


# Class 54 - Program Limit Exceeded


class ProgramLimitExceeded(OperationalError): ...


class StatementTooComplex(OperationalError): ...


class TooManyColumns(OperationalError): ...


class TooManyArguments(OperationalError): ...


# Class 55 - Object Not in Prerequisite State


class ObjectNotInPrerequisiteState(OperationalError): ...


class ObjectInUse(OperationalError): ...


class CantChangeRuntimeParam(OperationalError): ...


class LockNotAvailable(OperationalError): ...


class UnsafeNewEnumValueUsage(OperationalError): ...


# Class 57 - Operator Intervention


class OperatorIntervention(OperationalError): ...


class QueryCanceled(QueryCanceledError): ...


class AdminShutdown(OperationalError): ...


class CrashShutdown(OperationalError): ...


class CannotConnectNow(OperationalError): ...


class DatabaseDropped(OperationalError): ...


class IdleSessionTimeout(OperationalError): ...


# Class 58 - System Error


class SystemError(OperationalError): ...


class IoError(OperationalError): ...


class UndefinedFile(OperationalError): ...


class DuplicateFile(OperationalError): ...


class FileNameTooLong(OperationalError): ...


# Class 72 - Snapshot Failure


class SnapshotTooOld(DatabaseError): ...


# Class F0 - Configuration File Error


class ConfigFileError(InternalError): ...


class LockFileExists(InternalError): ...


# Class HV - Foreign Data Wrapper Error


class FdwError(OperationalError): ...


class FdwOutOfMemory(OperationalError): ...


class FdwDynamicParameterValueNeeded(OperationalError): ...


class FdwInvalidDataType(OperationalError): ...


class FdwColumnNameNotFound(OperationalError): ...


class FdwInvalidDataTypeDescriptors(OperationalError): ...


class FdwInvalidColumnName(OperationalError): ...


class FdwInvalidColumnNumber(OperationalError): ...


class FdwInvalidUseOfNullPointer(OperationalError): ...


class FdwInvalidStringFormat(OperationalError): ...


class FdwInvalidHandle(OperationalError): ...


class FdwInvalidOptionIndex(OperationalError): ...


class FdwInvalidOptionName(OperationalError): ...


class FdwOptionNameNotFound(OperationalError): ...


class FdwReplyHandle(OperationalError): ...


class FdwUnableToCreateExecution(OperationalError): ...


class FdwUnableToCreateReply(OperationalError): ...


class FdwUnableToEstablishConnection(OperationalError): ...


class FdwNoSchemas(OperationalError): ...


class FdwSchemaNotFound(OperationalError): ...


class FdwTableNotFound(OperationalError): ...


class FdwFunctionSequenceError(OperationalError): ...


class FdwTooManyHandles(OperationalError): ...


class FdwInconsistentDescriptorInformation(OperationalError): ...


class FdwInvalidAttributeValue(OperationalError): ...


class FdwInvalidStringLengthOrBufferLength(OperationalError): ...


class FdwInvalidDescriptorFieldIdentifier(OperationalError): ...


# Class P0 - PL/pgSQL Error


class PlpgsqlError(InternalError): ...


class RaiseException(InternalError): ...


class NoDataFound(InternalError): ...


class TooManyRows(InternalError): ...


class AssertFailure(InternalError): ...


# Class XX - Internal Error


class InternalError_(InternalError): ...


class DataCorrupted(InternalError): ...


class IndexCorrupted(InternalError): ...


def lookup(code: str) -> type[Error]:
    """The exception class of an SQLSTATE (``"23505"`` -> ``UniqueViolation``); ``KeyError`` if none."""
    from greenpsyco.fake_psycopg2.errors import sqlstate_errors

    return sqlstate_errors[code]


class _ErrorsModule(types.ModuleType):
    """The type of this module: carries ``sqlstate_errors`` without adding a global name."""

    sqlstate_errors: typing.ClassVar[dict[str, type[Error]]] = {
        "02000": NoData,
        "02001": NoAdditionalDynamicResultSetsReturned,
        "03000": SqlStatementNotYetComplete,
        "08000": ConnectionException,
        "08001": SqlclientUnableToEstablishSqlconnection,
        "08003": ConnectionDoesNotExist,
        "08004": SqlserverRejectedEstablishmentOfSqlconnection,
        "08006": ConnectionFailure,
        "08007": TransactionResolutionUnknown,
        "08P01": ProtocolViolation,
        "09000": TriggeredActionException,
        "0A000": FeatureNotSupported,
        "0B000": InvalidTransactionInitiation,
        "0F000": LocatorException,
        "0F001": InvalidLocatorSpecification,
        "0L000": InvalidGrantor,
        "0LP01": InvalidGrantOperation,
        "0P000": InvalidRoleSpecification,
        "0Z000": DiagnosticsException,
        "0Z002": StackedDiagnosticsAccessedWithoutActiveHandler,
        "10608": InvalidArgumentForXquery,
        "20000": CaseNotFound,
        "21000": CardinalityViolation,
        "22000": DataException,
        "22001": StringDataRightTruncation,
        "22002": NullValueNoIndicatorParameter,
        "22003": NumericValueOutOfRange,
        "22004": NullValueNotAllowed,
        "22005": ErrorInAssignment,
        "22007": InvalidDatetimeFormat,
        "22008": DatetimeFieldOverflow,
        "22009": InvalidTimeZoneDisplacementValue,
        "2200B": EscapeCharacterConflict,
        "2200C": InvalidUseOfEscapeCharacter,
        "2200D": InvalidEscapeOctet,
        "2200F": ZeroLengthCharacterString,
        "2200G": MostSpecificTypeMismatch,
        "2200H": SequenceGeneratorLimitExceeded,
        "2200L": NotAnXmlDocument,
        "2200M": InvalidXmlDocument,
        "2200N": InvalidXmlContent,
        "2200S": InvalidXmlComment,
        "2200T": InvalidXmlProcessingInstruction,
        "22010": InvalidIndicatorParameterValue,
        "22011": SubstringError,
        "22012": DivisionByZero,
        "22013": InvalidPrecedingOrFollowingSize,
        "22014": InvalidArgumentForNtileFunction,
        "22015": IntervalFieldOverflow,
        "22016": InvalidArgumentForNthValueFunction,
        "22018": InvalidCharacterValueForCast,
        "22019": InvalidEscapeCharacter,
        "2201B": InvalidRegularExpression,
        "2201E": InvalidArgumentForLogarithm,
        "2201F": InvalidArgumentForPowerFunction,
        "2201G": InvalidArgumentForWidthBucketFunction,
        "2201W": InvalidRowCountInLimitClause,
        "2201X": InvalidRowCountInResultOffsetClause,
        "22021": CharacterNotInRepertoire,
        "22022": IndicatorOverflow,
        "22023": InvalidParameterValue,
        "22024": UnterminatedCString,
        "22025": InvalidEscapeSequence,
        "22026": StringDataLengthMismatch,
        "22027": TrimError,
        "2202E": ArraySubscriptError,
        "2202G": InvalidTablesampleRepeat,
        "2202H": InvalidTablesampleArgument,
        "22030": DuplicateJsonObjectKeyValue,
        "22031": InvalidArgumentForSqlJsonDatetimeFunction,
        "22032": InvalidJsonText,
        "22033": InvalidSqlJsonSubscript,
        "22034": MoreThanOneSqlJsonItem,
        "22035": NoSqlJsonItem,
        "22036": NonNumericSqlJsonItem,
        "22037": NonUniqueKeysInAJsonObject,
        "22038": SingletonSqlJsonItemRequired,
        "22039": SqlJsonArrayNotFound,
        "2203A": SqlJsonMemberNotFound,
        "2203B": SqlJsonNumberNotFound,
        "2203C": SqlJsonObjectNotFound,
        "2203D": TooManyJsonArrayElements,
        "2203E": TooManyJsonObjectMembers,
        "2203F": SqlJsonScalarRequired,
        "2203G": SqlJsonItemCannotBeCastToTargetType,
        "22P01": FloatingPointException,
        "22P02": InvalidTextRepresentation,
        "22P03": InvalidBinaryRepresentation,
        "22P04": BadCopyFileFormat,
        "22P05": UntranslatableCharacter,
        "22P06": NonstandardUseOfEscapeCharacter,
        "23000": IntegrityConstraintViolation,
        "23001": RestrictViolation,
        "23502": NotNullViolation,
        "23503": ForeignKeyViolation,
        "23505": UniqueViolation,
        "23514": CheckViolation,
        "23P01": ExclusionViolation,
        "24000": InvalidCursorState,
        "25000": InvalidTransactionState,
        "25001": ActiveSqlTransaction,
        "25002": BranchTransactionAlreadyActive,
        "25003": InappropriateAccessModeForBranchTransaction,
        "25004": InappropriateIsolationLevelForBranchTransaction,
        "25005": NoActiveSqlTransactionForBranchTransaction,
        "25006": ReadOnlySqlTransaction,
        "25007": SchemaAndDataStatementMixingNotSupported,
        "25008": HeldCursorRequiresSameIsolationLevel,
        "25P01": NoActiveSqlTransaction,
        "25P02": InFailedSqlTransaction,
        "25P03": IdleInTransactionSessionTimeout,
        "25P04": TransactionTimeout,
        "26000": InvalidSqlStatementName,
        "27000": TriggeredDataChangeViolation,
        "28000": InvalidAuthorizationSpecification,
        "28P01": InvalidPassword,
        "2B000": DependentPrivilegeDescriptorsStillExist,
        "2BP01": DependentObjectsStillExist,
        "2D000": InvalidTransactionTermination,
        "2F000": SqlRoutineException,
        "2F002": ModifyingSqlDataNotPermitted,
        "2F003": ProhibitedSqlStatementAttempted,
        "2F004": ReadingSqlDataNotPermitted,
        "2F005": FunctionExecutedNoReturnStatement,
        "34000": InvalidCursorName,
        "38000": ExternalRoutineException,
        "38001": ContainingSqlNotPermitted,
        "38002": ModifyingSqlDataNotPermittedExt,
        "38003": ProhibitedSqlStatementAttemptedExt,
        "38004": ReadingSqlDataNotPermittedExt,
        "39000": ExternalRoutineInvocationException,
        "39001": InvalidSqlstateReturned,
        "39004": NullValueNotAllowedExt,
        "39P01": TriggerProtocolViolated,
        "39P02": SrfProtocolViolated,
        "39P03": EventTriggerProtocolViolated,
        "3B000": SavepointException,
        "3B001": InvalidSavepointSpecification,
        "3D000": InvalidCatalogName,
        "3F000": InvalidSchemaName,
        "40000": TransactionRollback,
        "40001": SerializationFailure,
        "40002": TransactionIntegrityConstraintViolation,
        "40003": StatementCompletionUnknown,
        "40P01": DeadlockDetected,
        "42000": SyntaxErrorOrAccessRuleViolation,
        "42501": InsufficientPrivilege,
        "42601": SyntaxError,
        "42602": InvalidName,
        "42611": InvalidColumnDefinition,
        "42622": NameTooLong,
        "42701": DuplicateColumn,
        "42702": AmbiguousColumn,
        "42703": UndefinedColumn,
        "42704": UndefinedObject,
        "42710": DuplicateObject,
        "42712": DuplicateAlias,
        "42723": DuplicateFunction,
        "42725": AmbiguousFunction,
        "42803": GroupingError,
        "42804": DatatypeMismatch,
        "42809": WrongObjectType,
        "42830": InvalidForeignKey,
        "42846": CannotCoerce,
        "42883": UndefinedFunction,
        "428C9": GeneratedAlways,
        "42939": ReservedName,
        "42P01": UndefinedTable,
        "42P02": UndefinedParameter,
        "42P03": DuplicateCursor,
        "42P04": DuplicateDatabase,
        "42P05": DuplicatePreparedStatement,
        "42P06": DuplicateSchema,
        "42P07": DuplicateTable,
        "42P08": AmbiguousParameter,
        "42P09": AmbiguousAlias,
        "42P10": InvalidColumnReference,
        "42P11": InvalidCursorDefinition,
        "42P12": InvalidDatabaseDefinition,
        "42P13": InvalidFunctionDefinition,
        "42P14": InvalidPreparedStatementDefinition,
        "42P15": InvalidSchemaDefinition,
        "42P16": InvalidTableDefinition,
        "42P17": InvalidObjectDefinition,
        "42P18": IndeterminateDatatype,
        "42P19": InvalidRecursion,
        "42P20": WindowingError,
        "42P21": CollationMismatch,
        "42P22": IndeterminateCollation,
        "44000": WithCheckOptionViolation,
        "53000": InsufficientResources,
        "53100": DiskFull,
        "53200": OutOfMemory,
        "53300": TooManyConnections,
        "53400": ConfigurationLimitExceeded,
        "54000": ProgramLimitExceeded,
        "54001": StatementTooComplex,
        "54011": TooManyColumns,
        "54023": TooManyArguments,
        "55000": ObjectNotInPrerequisiteState,
        "55006": ObjectInUse,
        "55P02": CantChangeRuntimeParam,
        "55P03": LockNotAvailable,
        "55P04": UnsafeNewEnumValueUsage,
        "57000": OperatorIntervention,
        "57014": QueryCanceled,
        "57P01": AdminShutdown,
        "57P02": CrashShutdown,
        "57P03": CannotConnectNow,
        "57P04": DatabaseDropped,
        "57P05": IdleSessionTimeout,
        "58000": SystemError,
        "58030": IoError,
        "58P01": UndefinedFile,
        "58P02": DuplicateFile,
        "58P03": FileNameTooLong,
        "72000": SnapshotTooOld,
        "F0000": ConfigFileError,
        "F0001": LockFileExists,
        "HV000": FdwError,
        "HV001": FdwOutOfMemory,
        "HV002": FdwDynamicParameterValueNeeded,
        "HV004": FdwInvalidDataType,
        "HV005": FdwColumnNameNotFound,
        "HV006": FdwInvalidDataTypeDescriptors,
        "HV007": FdwInvalidColumnName,
        "HV008": FdwInvalidColumnNumber,
        "HV009": FdwInvalidUseOfNullPointer,
        "HV00A": FdwInvalidStringFormat,
        "HV00B": FdwInvalidHandle,
        "HV00C": FdwInvalidOptionIndex,
        "HV00D": FdwInvalidOptionName,
        "HV00J": FdwOptionNameNotFound,
        "HV00K": FdwReplyHandle,
        "HV00L": FdwUnableToCreateExecution,
        "HV00M": FdwUnableToCreateReply,
        "HV00N": FdwUnableToEstablishConnection,
        "HV00P": FdwNoSchemas,
        "HV00Q": FdwSchemaNotFound,
        "HV00R": FdwTableNotFound,
        "HV010": FdwFunctionSequenceError,
        "HV014": FdwTooManyHandles,
        "HV021": FdwInconsistentDescriptorInformation,
        "HV024": FdwInvalidAttributeValue,
        "HV090": FdwInvalidStringLengthOrBufferLength,
        "HV091": FdwInvalidDescriptorFieldIdentifier,
        "P0000": PlpgsqlError,
        "P0001": RaiseException,
        "P0002": NoDataFound,
        "P0003": TooManyRows,
        "P0004": AssertFailure,
        "XX000": InternalError_,
        "XX001": DataCorrupted,
        "XX002": IndexCorrupted,
    }


if typing.TYPE_CHECKING:
    sqlstate_errors = _ErrorsModule.sqlstate_errors

for _cls in _ErrorsModule.sqlstate_errors.values():
    _cls.__module__ = "psycopg2.errors"
lookup.__module__ = "psycopg2.errors"
sys.modules[__name__].__class__ = _ErrorsModule
del _cls, _ErrorsModule, sys, types, typing
