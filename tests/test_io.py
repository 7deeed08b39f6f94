"""Finding and reading tables: formats, encodings, header mapping and the errors a user sees."""

import numpy as np
import pandas as pd
import pytest

from consortia.clean import clean_dataset
from consortia.io import (
    ContractError,
    discover_dataset,
    find_table_file,
    read_dataset,
    read_table,
)

CONSORTIA = pd.DataFrame(
    {
        "consortium_id": ["C1", "C2", "C3"],
        "lead_type": ["企业", "高校", "NA"],
        "founded_year": ["2016", "2017", "2018"],
        "dissolved_year": [None, "2020", None],
        "region": ["江苏", None, "NA"],
    }
)


def write(frame: pd.DataFrame, path, **options):
    if path.suffix == ".csv":
        frame.to_csv(path, index=False, **options)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_excel(path, index=False)
    return path


def minimal_dataset(folder, consortia_file="consortia.csv", members_file="members.csv"):
    write(CONSORTIA, folder / consortia_file)
    members = pd.DataFrame(
        {"consortium_id": ["C1"], "member_id": ["M1"], "member_type": ["firm"], "Weight": ["1"]}
    )
    write(members, folder / members_file)
    return folder


# --- finding files ----------------------------------------------------------------------


def test_find_table_file_looks_for_csv_parquet_or_xlsx(tmp_path):
    write(CONSORTIA, tmp_path / "Consortia.XLSX")
    assert find_table_file(tmp_path, "consortia", {"file": None}) == tmp_path / "Consortia.XLSX"
    assert find_table_file(tmp_path, "tasks", {}) is None


def test_several_candidate_files_is_an_error_naming_them(tmp_path):
    write(CONSORTIA, tmp_path / "consortia.csv")
    write(CONSORTIA, tmp_path / "consortia.parquet")
    with pytest.raises(
        ContractError, match=r"consortia\.csv, consortia\.parquet.*tables\.consortia\.file"
    ):
        find_table_file(tmp_path, "consortia", {"file": None})


def test_configured_file_is_used_and_must_exist(tmp_path):
    write(CONSORTIA, tmp_path / "alliances 2023.csv")
    cfg = {"file": "alliances 2023.csv"}
    assert find_table_file(tmp_path, "consortia", cfg) == tmp_path / "alliances 2023.csv"
    with pytest.raises(
        ContractError, match=r"alliances\.csv: file not found.*tables\.consortia\.file"
    ):
        find_table_file(tmp_path, "consortia", {"file": "alliances.csv"})


def test_discover_dataset_lists_tables_columns_and_absent_tables(tmp_path):
    minimal_dataset(tmp_path)
    found = discover_dataset(tmp_path, {}, {"members": {"weight": "decision_weight"}})
    assert set(found["tables"]) == {"consortia", "members"}
    assert found["tables"]["members"]["path"] == tmp_path / "members.csv"
    assert found["tables"]["members"]["columns"] == [
        "consortium_id",
        "member_id",
        "member_type",
        "decision_weight",
    ]
    assert found["tables"]["consortia"]["extra_columns"] == []
    assert found["absent_tables"] == ["panel", "tasks"]


def test_discover_dataset_without_members_is_an_error(tmp_path):
    write(CONSORTIA, tmp_path / "consortia.csv")
    with pytest.raises(ContractError, match="no members table; expected members.csv"):
        discover_dataset(tmp_path, {}, {})


def test_discover_dataset_checks_required_columns_from_the_header(tmp_path):
    minimal_dataset(tmp_path)
    write(pd.DataFrame({"consortium_id": ["C1"]}), tmp_path / "panel.csv")
    with pytest.raises(
        ContractError, match=r"panel\.csv: the panel table lacks required column\(s\) year"
    ):
        discover_dataset(tmp_path, {}, {})


def test_missing_dataset_folder_is_an_error(tmp_path):
    with pytest.raises(ContractError, match="dataset folder not found"):
        discover_dataset(tmp_path / "nowhere", {}, {})


def test_dangling_table_symlink_is_an_error_naming_the_file(tmp_path):
    # A broken link is a table the user meant to give, not an absent optional table.
    minimal_dataset(tmp_path)
    (tmp_path / "panel.csv").symlink_to(tmp_path / "moved" / "panel.csv")
    with pytest.raises(ContractError) as error:
        discover_dataset(tmp_path, {}, {})
    message = str(error.value)
    assert f"{tmp_path / 'panel.csv'}: a broken symbolic link" in message
    assert str(tmp_path / "moved" / "panel.csv") in message
    assert "panel table" in message


def test_folder_named_like_a_table_is_an_error(tmp_path):
    minimal_dataset(tmp_path)
    (tmp_path / "tasks.csv").mkdir()
    with pytest.raises(ContractError, match=r"tasks\.csv: a folder, not a file.*tasks table"):
        discover_dataset(tmp_path, {}, {})


def test_configured_file_that_is_a_broken_link_says_so(tmp_path):
    minimal_dataset(tmp_path)
    (tmp_path / "mine.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(ContractError, match=r"mine\.csv: a broken symbolic link"):
        find_table_file(tmp_path, "panel", {"file": "mine.csv"})


def test_every_table_fault_is_reported_in_one_pass(tmp_path):
    minimal_dataset(tmp_path)
    write(pd.DataFrame({"consortium_id": ["C1"], "member_id": ["M1"]}), tmp_path / "members.csv")
    (tmp_path / "panel.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "tasks.csv").symlink_to(tmp_path / "nowhere.csv")
    with pytest.raises(ContractError) as error:
        discover_dataset(tmp_path, {}, {})
    message = str(error.value)
    assert "3 faults" in message
    assert (
        f"{tmp_path / 'members.csv'}: the members table lacks required column(s) member_type"
        in message
    )
    assert f"{tmp_path / 'panel.parquet'}: cannot be read as Parquet" in message
    assert f"{tmp_path / 'tasks.csv'}: a broken symbolic link" in message


def test_read_dataset_reports_faults_found_only_when_reading(tmp_path):
    # The members header is fine; its second data row is not UTF-8: only a full read finds it,
    # and it is reported together with the panel's header fault.
    minimal_dataset(tmp_path)
    (tmp_path / "members.csv").write_bytes(
        b"consortium_id,member_id,member_type\nC1,M1,firm\n" + "C1,M2,企业\n".encode("gbk")
    )
    write(pd.DataFrame({"consortium_id": ["C1"]}), tmp_path / "panel.csv")
    with pytest.raises(ContractError) as error:
        read_dataset(tmp_path, {}, {})
    message = str(error.value)
    assert "2 faults" in message
    assert f"{tmp_path / 'members.csv'}: byte 53 (line 3) is not valid utf-8" in message
    assert f"{tmp_path / 'panel.csv'}: the panel table lacks required column(s) year" in message


def test_read_dataset_reads_every_table_it_finds(tmp_path):
    minimal_dataset(tmp_path)
    read = read_dataset(tmp_path, {}, {"members": {"weight": "decision_weight"}})
    assert read.files == {
        "consortia": tmp_path / "consortia.csv",
        "members": tmp_path / "members.csv",
    }
    assert read.absent_tables == ["panel", "tasks"]
    assert read.tables["members"]["decision_weight"].tolist() == ["1"]
    assert read.tables["consortia"]["consortium_id"].tolist() == ["C1", "C2", "C3"]


# --- reading ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bom.csv", "plain.csv", "t.parquet", "t.xlsx"])
def test_every_format_reads_identically(tmp_path, name):
    path = tmp_path / name
    write(CONSORTIA, path, **({"encoding": "utf-8-sig"} if name == "bom.csv" else {}))
    table = read_table(path, "consortia", {}, {})
    expected = CONSORTIA.where(CONSORTIA.notna(), np.nan).assign(source_row=[1, 2, 3])
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    # Only empty cells are missing: "NA" is a value (a region code, an unknown label).
    assert table["region"].tolist()[2] == "NA"
    assert table["dissolved_year"].isna().tolist() == [True, False, True]


def test_typed_parquet_and_csv_clean_to_the_same_tables(tmp_path):
    typed = pd.DataFrame(
        {
            "consortium_id": ["C1", "C2"],
            "lead_type": ["enterprise", "government"],
            "founded_year": [2016, 2017],
            "dissolved_year": [None, 2020.0],  # a float column, as pandas stores gaps
            "high_tech": [True, False],
        }
    )
    frames = {}
    for name in ["consortia.csv", "consortia.parquet", "consortia.xlsx"]:
        path = write(typed, tmp_path / name)
        raw = read_table(path, "consortia", {}, {})
        frames[name] = clean_dataset({"consortia": raw}, {}, {}).tables["consortia"]
    pd.testing.assert_frame_equal(frames["consortia.csv"], frames["consortia.parquet"])
    pd.testing.assert_frame_equal(frames["consortia.csv"], frames["consortia.xlsx"])
    assert frames["consortia.csv"]["dissolved_year"].tolist()[1] == 2020


def test_headers_are_trimmed_lowercased_then_mapped(tmp_path):
    raw = pd.DataFrame(
        {" Consortium_ID ": ["C1"], "类型": ["企业"], "Founded Year": ["2016"], "Notes": ["x"]}
    )
    path = write(raw, tmp_path / "c.csv")
    table = read_table(
        path, "consortia", {}, {"类型": "lead_type", " FOUNDED year": "founded_year"}
    )
    assert list(table.columns) == [
        "consortium_id",
        "lead_type",
        "founded_year",
        "notes",
        "source_row",
    ]
    assert table.iloc[0].tolist() == ["C1", "企业", "2016", "x", 1]


def test_source_row_counts_data_rows_from_one(tmp_path):
    path = write(CONSORTIA, tmp_path / "c.csv")
    assert read_table(path, "consortia", {}, {})["source_row"].tolist() == [1, 2, 3]


def test_blank_and_whitespace_only_lines_are_rows_with_every_value_missing(tmp_path):
    # Lines 3 and 4 of the file (data rows 2 and 3) hold nothing: they stay rows, so that
    # the rows after them keep their place in the file and the accounting counts them.
    path = tmp_path / "consortia.csv"
    path.write_text(
        "consortium_id,lead_type,founded_year\nC1,firm,2016\n  \t \n\nC2,university,2017\n",
        encoding="utf-8",
    )
    table = read_table(path, "consortia", {}, {})
    assert table["source_row"].tolist() == [1, 2, 3, 4]
    assert table["consortium_id"].tolist()[3] == "C2"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[table["source_row"].iloc[3]].startswith("C2,")  # line after the header
    blank = table.drop(columns="source_row").iloc[1:3]
    assert blank.apply(lambda column: column.str.strip().replace("", None)).isna().all().all()


def test_whitespace_only_lines_are_quarantined_and_counted_by_cleaning(tmp_path):
    path = tmp_path / "consortia.csv"
    path.write_text(
        "consortium_id,lead_type,founded_year\nC1,firm,2016\n   \nC2,university,2017\n",
        encoding="utf-8",
    )
    raw = {"consortia": read_table(path, "consortia", {}, {})}
    cleaned = clean_dataset(raw, sources={"consortia": str(path)}, config={})
    account = cleaned.accounting["consortia"]
    assert (account.rows_read, account.rows_kept, account.rows_quarantined) == (3, 2, 1)
    quarantined = cleaned.quarantine.iloc[0]
    assert (quarantined["source_row"], quarantined["rule"]) == (2, "missing_required")


def test_blank_lines_before_the_header_are_not_rows(tmp_path):
    path = tmp_path / "consortia.csv"
    path.write_text("\n  \nconsortium_id,lead_type,founded_year\nC1,firm,2016\n", encoding="utf-8")
    table = read_table(path, "consortia", {}, {})
    assert table["consortium_id"].tolist() == ["C1"]
    assert table["source_row"].tolist() == [1]


def test_excel_sheet_can_be_chosen(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"readme": ["see sheet 2"]}).to_excel(writer, sheet_name="notes", index=False)
        CONSORTIA.to_excel(writer, sheet_name="data", index=False)
    table = read_table(path, "consortia", {"sheet": "data"}, {})
    assert table["consortium_id"].tolist() == ["C1", "C2", "C3"]
    with pytest.raises(ContractError, match="lacks required column"):
        read_table(path, "consortia", {"sheet": None}, {})


def test_header_only_file_is_an_empty_table(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("consortium_id,lead_type,founded_year\n", encoding="utf-8")
    table = read_table(path, "consortia", {}, {})
    assert len(table) == 0
    assert "source_row" in table


# --- errors -----------------------------------------------------------------------------


def test_missing_required_column_names_file_column_and_expected_columns(tmp_path):
    path = write(CONSORTIA.drop(columns="lead_type"), tmp_path / "consortia.csv")
    with pytest.raises(ContractError) as error:
        read_table(path, "consortia", {}, {})
    message = str(error.value)
    assert str(path) in message
    assert "lacks required column(s) lead_type" in message
    assert "expected columns consortium_id, lead_type, founded_year" in message
    assert "columns.consortia" in message


def test_duplicated_header_after_mapping_is_an_error(tmp_path):
    raw = CONSORTIA.assign(Type=["firm", "firm", "firm"])
    path = write(raw, tmp_path / "consortia.csv")
    with pytest.raises(ContractError, match=r"'lead_type' from headers 'lead_type', 'Type'"):
        read_table(path, "consortia", {}, {"type": "lead_type"})


def test_same_header_twice_in_the_file_is_an_error(tmp_path):
    path = tmp_path / "consortia.csv"
    path.write_text("consortium_id,lead_type,founded_year,Lead_Type\nC1,firm,2016,firm\n")
    with pytest.raises(ContractError, match="appear more than once"):
        read_table(path, "consortia", {}, {})


def test_wrong_encoding_names_file_byte_line_and_fix(tmp_path):
    path = tmp_path / "consortia.csv"
    path.write_bytes("consortium_id,lead_type,founded_year\nC1,企业,2016\n".encode("gbk"))
    with pytest.raises(ContractError) as error:
        read_table(path, "consortia", {"encoding": "utf-8"}, {})
    message = str(error.value)
    assert str(path) in message
    # The header is 36 bytes plus its newline; "C1," takes the next 3.
    assert "byte 40 (line 2) is not valid utf-8" in message
    assert "expected a CSV file in utf-8" in message
    assert "GB18030/GBK" in message
    assert "tables.consortia.encoding" in message


def test_configured_encoding_reads_gbk(tmp_path):
    path = tmp_path / "consortia.csv"
    path.write_bytes("consortium_id,lead_type,founded_year\nC1,企业,2016\n".encode("gbk"))
    table = read_table(path, "consortia", {"encoding": "gbk"}, {})
    assert table["lead_type"].tolist() == ["企业"]


def test_wrong_encoding_is_caught_when_discovering_too(tmp_path):
    minimal_dataset(tmp_path)
    (tmp_path / "consortia.csv").write_bytes("consortium_id,类型,founded_year\n".encode("gbk"))
    with pytest.raises(ContractError, match=r"byte 14 \(line 1\) is not valid utf-8"):
        discover_dataset(tmp_path, {}, {})


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("consortia.csv", b"", "the file is empty; expected a CSV file"),
        ("consortia.parquet", b"not parquet at all", "cannot be read as Parquet"),
        ("consortia.xlsx", b"PK\x03\x04 broken zip", "cannot be read as Excel"),
        (
            "consortia.csv",
            b"consortium_id,lead_type,founded_year\nC1,firm,2016,extra,x\n",
            "cannot be read as CSV",
        ),
    ],
)
def test_unreadable_file_is_an_error_naming_file_and_expected_format(
    tmp_path, name, content, expected
):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ContractError) as error:
        read_table(path, "consortia", {}, {})
    assert str(path) in str(error.value)
    assert expected in str(error.value)
    assert "consortia table" in str(error.value)


def test_unsupported_file_type_is_an_error(tmp_path):
    path = tmp_path / "consortia.xls"
    path.write_bytes(b"old excel")
    with pytest.raises(ContractError, match=r"unsupported file type '\.xls'.*expected \.csv"):
        read_table(path, "consortia", {}, {})


def test_unknown_encoding_name_is_an_error(tmp_path):
    path = write(CONSORTIA, tmp_path / "consortia.csv")
    with pytest.raises(ContractError, match="unknown text encoding 'utf-9'"):
        read_table(path, "consortia", {"encoding": "utf-9"}, {})


def test_unreadable_table_is_an_error_naming_the_file(tmp_path, monkeypatch):
    # Permissions do not stop root, so the denial is simulated where the file is opened.
    minimal_dataset(tmp_path)
    members = tmp_path / "members.csv"
    real_open = open

    def deny_members(file, *args, **kwargs):
        if str(file) == str(members):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny_members)
    with pytest.raises(ContractError) as error:
        discover_dataset(tmp_path, {}, {})
    assert str(error.value) == (
        f"{members}: cannot be opened (Permission denied); expected a readable file holding "
        "the members table"
    )
