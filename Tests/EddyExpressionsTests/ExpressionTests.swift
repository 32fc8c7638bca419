import EddyExpressions
import EddyModel
import Testing

@Suite struct ExpressionTests {
    func value(_ text: String, _ scope: [String: JSON] = [:]) throws -> JSON {
        try Expression(parsing: text).evaluate(in: scope)
    }

    @Test func arithmetic_followsPrecedenceAndAssociativity() throws {
        #expect(try value("1 + 2 * 3") == 7)
        #expect(try value("(1 + 2) * 3") == 9)
        #expect(try value("10 - 4 - 3") == 3)
        #expect(try value("8 / 4 / 2") == 1)
        #expect(try value("-2 * -3") == 6)
        #expect(try value("0.4 * 0.5 + 0.3 * 0.5") == .number(0.4 * 0.5 + 0.3 * 0.5))
    }

    @Test func fieldAccess_onInputAndDocuments_nullWhenMissing() throws {
        let scope: [String: JSON] = ["input": ["ip": "1.2.3.4", "n": 2], "doc": ["score": 0.25], "absent": .null]
        #expect(try value("input.ip", scope) == "1.2.3.4")
        #expect(try value("doc.score * input.n", scope) == 0.5)
        #expect(try value("absent.score", scope) == .null)
        #expect(try value("doc.missing", scope) == .null)
        #expect(throws: EvaluationError.self) { try value("input.ip.x", scope) }
        #expect(throws: EvaluationError.self) { try value("nobody", scope) }
    }

    @Test func nullCoalescing_takesTheRightSideOnlyForNull() throws {
        let scope: [String: JSON] = ["a": .null, "b": ["score": 0], "c": ["flag": false]]
        #expect(try value("a.score ?? 0.5", scope) == 0.5)
        #expect(try value("b.score ?? 0.5", scope) == 0)
        #expect(try value("c.flag ?? true", scope) == false)
        #expect(try value("a ?? a ?? 3", scope) == 3)
        // ?? binds tighter than comparison, looser than arithmetic (as in Swift).
        #expect(try value("a ?? 1 + 1 == 2", scope) == true)
    }

    @Test func comparisonsAndBooleanLogic() throws {
        #expect(try value("1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3") == true)
        #expect(try value("'a' < 'b'") == true)
        #expect(try value("1 == 1 && 'x' != 'y' && null == null") == true)
        #expect(try value("!(1 > 2) || false") == true)
        // Short-circuit: the right side would fail if evaluated.
        #expect(try value("false && 1 + 'x' > 0") == false)
        #expect(try value("true || 'x' * 2") == true)
        #expect(throws: EvaluationError.self) { try value("1 && true") }
        #expect(throws: EvaluationError.self) { try value("1 < 'a'") }
    }

    @Test func functions_minMaxAbsConcatIf() throws {
        #expect(try value("min(3, 1, 2)") == 1)
        #expect(try value("max(3, 1, 2)") == 3)
        #expect(try value("abs(-2.5)") == 2.5)
        #expect(try value("concat('a', 'b', 1, true)") == "ab1true")
        #expect(try value("'user:' + 'ann'") == "user:ann")
        #expect(try value("if(1 > 0, 'yes', 1 / 0)") == "yes")
        #expect(throws: EvaluationError.self) { try value("abs('x')") }
    }

    @Test func keys_listAnObjectsFieldsSorted_andNullAsEmpty() throws {
        let scope: [String: JSON] = ["friends": ["carol": true, "bob": true, "Zed": false], "none": .null, "n": 3]
        #expect(try value("keys(friends)", scope) == .array(["Zed", "bob", "carol"]))
        #expect(try value("keys(none)", scope) == .array([]))
        #expect(throws: EvaluationError("keys needs an object, not number")) { try value("keys(n)", scope) }
    }

    @Test func evaluationErrors_areDeterministic() throws {
        #expect(throws: EvaluationError("division by zero")) { try value("1 / 0") }
        #expect(throws: EvaluationError("+ needs a number, not string")) { try value("1 + 'a'") }
    }

    @Test(arguments: [
        ("1 +", 4, "expected a value"),
        ("(1 + 2", 7, "expected ')'"),
        ("foo(1)", 1, "unknown function 'foo'"),
        ("abs(1, 2)", 1, "abs takes 1 arguments"),
        ("1 < 2 < 3", 7, "comparisons do not chain"),
        ("'open", 1, "string is not closed"),
        ("a # b", 3, "unexpected character '#'"),
        ("a.", 3, "expected a field name"),
        ("1 2", 3, "after the end of the expression"),
    ])
    func syntaxErrors_nameTheColumnAndReason(text: String, column: Int, reason: String) {
        do {
            _ = try Expression(parsing: text)
            Issue.record("'\(text)' should not parse")
        } catch {
            #expect(error.column == column, "\(text): \(error)")
            #expect(error.reason.contains(reason), "\(text): \(error)")
        }
    }

    @Test func size_andDepth_areBounded() {
        #expect(throws: ExpressionSyntaxError.self) { try Expression(parsing: String(repeating: "1+", count: 3000) + "1") }
        #expect(throws: ExpressionSyntaxError.self) { try Expression(parsing: String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100)) }
        #expect(throws: ExpressionSyntaxError.self) { try Expression(parsing: String(repeating: "-", count: 100) + "1") }
    }

    @Test func names_listEveryNameRead() throws {
        let expression = try Expression(parsing: "0.4 * (ip.score ?? 0.5) + max(email.score, input.x) + if(flag, 1, 2)")
        #expect(expression.names == ["ip", "email", "input", "flag"])
    }
}
