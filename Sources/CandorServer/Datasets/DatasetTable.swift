import CandorExplain
import Foundation
import HTTPTypes

/// A table of numbers with named columns, as a dataset upload carries it: CSV with a header
/// row, or JSON. Missing cells (empty, `NA`, `nan`) are NaN — tree ensembles route them, other
/// models refuse them when an analysis uses them. The optional label column is kept apart as
/// text, since labels may be class names that only the model's sidecar can turn into indices.
struct DatasetTable: Sendable, Equatable {
    var columns: [String]
    /// rows × columns, row-major.
    var values: [Double]
    var labelColumn: String?
    var labels: [String]?

    var rowCount: Int { columns.isEmpty ? 0 : values.count / columns.count }

    /// The texts read as a missing value.
    private static let missingCells: Set<String> = ["", "na", "nan", "null", "n/a"]

    /// One cell: a number, or NaN when missing; a 400 naming the cell otherwise.
    private static func number(_ text: Substring, row: Int, column: String) throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if missingCells.contains(trimmed.lowercased()) { return .nan }
        guard let value = Double(trimmed), value.isFinite else {
            throw Problem.badRequest(
                "invalid-dataset", "row \(row + 1), column '\(column)': '\(trimmed.prefix(40))' is not a finite number")
        }
        return value
    }

    /// CSV (RFC 4180: comma-separated, fields optionally in double quotes with `""` for a
    /// quote, CRLF or LF line ends) whose first row names the columns.
    static func csv(_ data: Data, labelColumn: String?, maxRows: Int) throws -> DatasetTable {
        var records = CSVRecords(data)
        guard let header = try records.next(), !header.isEmpty, header != [""] else {
            throw Problem.badRequest("invalid-dataset", "the CSV is empty: its first row must name the columns")
        }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces) }
        try checkNames(names, labelColumn: labelColumn)
        let labelIndex = labelColumn.flatMap { names.firstIndex(of: $0) }
        var table = DatasetTable(
            columns: names.enumerated().filter { $0.offset != labelIndex }.map(\.element), values: [], labelColumn: labelColumn,
            labels: labelIndex == nil ? nil : [])
        var row = 0
        while let record = try records.next() {
            if record == [""] { continue }  // a blank line, such as the file's last
            guard record.count == names.count else {
                throw Problem.badRequest("invalid-dataset", "row \(row + 1) has \(record.count) fields; the header names \(names.count)")
            }
            guard row < maxRows else { throw tooManyRows(maxRows) }
            for (index, field) in record.enumerated() {
                if index == labelIndex {
                    table.labels?.append(field.trimmingCharacters(in: .whitespaces))
                } else {
                    table.values.append(try number(Substring(field), row: row, column: names[index]))
                }
            }
            row += 1
        }
        guard row > 0 else { throw Problem.badRequest("invalid-dataset", "the CSV has a header but no rows") }
        return table
    }

    /// JSON: `{"columns": [names], "rows": [[numbers]]}` or `{"rows": [{name: number}]}`
    /// (then the columns are the first row's names, sorted); a number may be null for a
    /// missing value. The label column's values may be numbers or class names.
    static func json(_ object: [String: JSONValue], labelColumn: String?, maxRows: Int) throws -> DatasetTable {
        guard case .array(let rows)? = object["rows"], !rows.isEmpty else {
            throw Problem.badRequest("invalid-dataset", "'rows' must be a non-empty array of rows")
        }
        guard rows.count <= maxRows else { throw tooManyRows(maxRows) }
        let names: [String]
        switch object["columns"] {
        case .array(let items)?:
            names = try items.map { item in
                guard case .string(let name) = item else {
                    throw Problem.badRequest("invalid-dataset", "'columns' must be an array of names")
                }
                return name
            }
        case nil:
            guard case .object(let first) = rows[0] else {
                throw Problem.badRequest("invalid-dataset", "rows given as arrays need 'columns', the column names in order")
            }
            names = first.keys.sorted()
        case let other?:
            throw Problem.badRequest("invalid-dataset", "'columns' must be an array of names, got \(other.typeName)")
        }
        try checkNames(names, labelColumn: labelColumn)
        var table = DatasetTable(
            columns: names.filter { $0 != labelColumn }, values: [], labelColumn: labelColumn, labels: labelColumn == nil ? nil : [])
        table.values.reserveCapacity(rows.count * table.columns.count)
        for (rowIndex, row) in rows.enumerated() {
            let cells: [JSONValue]
            switch row {
            case .array(let items):
                guard items.count == names.count else {
                    throw Problem.badRequest(
                        "invalid-dataset", "row \(rowIndex + 1) has \(items.count) values; 'columns' names \(names.count)")
                }
                cells = items
            case .object(let byName):
                if let extra = byName.keys.sorted().first(where: { !names.contains($0) }) {
                    throw Problem.badRequest(
                        "invalid-dataset", "row \(rowIndex + 1) has column '\(extra.prefix(100))', which the first row lacks")
                }
                cells = names.map { byName[$0] ?? .null }
            default:
                throw Problem.badRequest("invalid-dataset", "row \(rowIndex + 1) must be an array or an object, got \(row.typeName)")
            }
            for (name, cell) in zip(names, cells) {
                switch (cell, name == labelColumn) {
                case (.number(let value), false) where value.isFinite: table.values.append(value)
                case (.null, false): table.values.append(.nan)
                case (.number(let value), true): table.labels?.append(ParameterReader.format(value))
                case (.string(let label), true): table.labels?.append(label)
                default:
                    throw Problem.badRequest(
                        "invalid-dataset",
                        "row \(rowIndex + 1), column '\(name)': expected \(name == labelColumn ? "a number or a class name" : "a finite number or null"), got \(cell.typeName)"
                    )
                }
            }
        }
        return table
    }

    private static func checkNames(_ names: [String], labelColumn: String?) throws {
        if let empty = names.firstIndex(of: "") {
            throw Problem.badRequest("invalid-dataset", "column \(empty + 1) has no name")
        }
        var seen: Set<String> = []
        for name in names where !seen.insert(name).inserted {
            throw Problem.badRequest("invalid-dataset", "column '\(name.prefix(100))' is named twice")
        }
        if let labelColumn, !seen.contains(labelColumn) {
            throw Problem.badRequest("invalid-dataset", "the label column '\(labelColumn.prefix(100))' is not among the columns")
        }
        if names.count == (labelColumn == nil ? 0 : 1) {
            throw Problem.badRequest("invalid-dataset", "the dataset has no feature columns")
        }
    }

    private static func tooManyRows(_ maxRows: Int) -> Problem {
        Problem(
            .contentTooLarge, code: "dataset-too-large",
            detail: "the dataset has more than \(maxRows) rows, the configured datasets.max_rows")
    }
}

/// The records of CSV text (RFC 4180), one array of fields per line. It walks the UTF-8
/// bytes (every delimiter is ASCII), so it holds no more than the upload itself.
private struct CSVRecords {
    let bytes: [UInt8]
    var position = 0

    init(_ data: Data) { bytes = Array(data) }

    private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"),
        carriageReturn = UInt8(ascii: "\r")

    /// The next record, nil at the end; an unclosed quote is a 400.
    mutating func next() throws -> [String]? {
        guard position < bytes.count else { return nil }
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if quoted {
                if byte == Self.quote {
                    if position < bytes.count && bytes[position] == Self.quote {
                        field.append(byte)
                        position += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case Self.quote where field.isEmpty: quoted = true
            case Self.comma:
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
            case Self.newline:
                fields.append(String(decoding: field, as: UTF8.self))
                return fields
            case Self.carriageReturn where position < bytes.count && bytes[position] == Self.newline: continue
            default: field.append(byte)
            }
        }
        if quoted { throw Problem.badRequest("invalid-dataset", "the CSV ends inside a quoted field") }
        fields.append(String(decoding: field, as: UTF8.self))
        return fields
    }
}
