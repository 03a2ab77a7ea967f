from ardesk.ledger.selectors import customers_for_user


def test_book_scopes(book):
    assert sorted(customers_for_user(book.alice).values_list("account_number", flat=True)) == ["C-100"]
    assert sorted(customers_for_user(book.mona).values_list("account_number", flat=True)) == [
        "C-100",
        "C-200",
        "C-400",
    ]
    assert customers_for_user(book.ada).count() == 4
    assert customers_for_user(book.nobody).count() == 0
