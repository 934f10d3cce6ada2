import CLibPQ

extension PostgresConnection {
    /// Runs `body` between BEGIN and COMMIT. If `body` throws, the transaction
    /// is rolled back and the error rethrown; if the connection broke, the
    /// server has already discarded the transaction.
    ///
    /// A statement that failed inside `body` aborts the transaction even when
    /// `body` catches the error; COMMIT would then silently roll back, so this
    /// throws instead of reporting success.
    ///
    /// Transactions do not nest: calling this inside another is a programming
    /// error.
    @discardableResult
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let state = PQtransactionStatus(handle)
        precondition(state != PQTRANS_INTRANS && state != PQTRANS_INERROR, "transaction() called inside a transaction")
        try execute("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
        try commit()
        return value
    }

    private func commit() throws(PostgresError) {
        if PQtransactionStatus(handle) == PQTRANS_INERROR {
            try? execute("ROLLBACK")
            throw PostgresError(code: .query, message: "the transaction was rolled back: a statement in it failed and the error was caught")
        }
        try execute("COMMIT")
    }
}
