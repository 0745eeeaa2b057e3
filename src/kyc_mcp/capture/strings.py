"""Every sentence and label of kyc-mcp's capture page, in English and Simplified Chinese.

The same style as the sign-in page's (`kyc_mcp.signin.strings`, whose `Lang`, `request_lang` and `choose_lang`
choose the page's language): `STRINGS` holds every sentence, (English, Simplified Chinese), and `text` picks one.
Field labels are `label.<field>`, hints `hint.<field>`, choice labels `choice.<value>`; `choice_label` falls back
to the value itself (split into words) for a value the metadata brings that has no label here. The MCP App
(`kyc_mcp.capture.app`) shows the same words, through `kyc_mcp.capture.form`.
"""

# ruff: noqa: RUF001  (the Chinese sentences use Chinese, full-width punctuation)
from __future__ import annotations

import re

from kyc_mcp.signin.strings import LANGS, SWITCH_LABEL, Lang, choose_lang, request_lang

__all__ = ["LANGS", "STRINGS", "SWITCH_LABEL", "Lang", "choice_label", "choose_lang", "request_lang", "text"]

STRINGS: dict[str, tuple[str, str]] = {
    "brand": ("kyc-mcp", "kyc-mcp"),
    "language": ("Language", "语言"),
    "progress": ("Step {index} of {count}", "第 {index} 步，共 {count} 步"),
    "required": ("required", "必填"),
    "optional_all": (
        "Every field is optional: fill in what you want to save now (at least one).",
        "所有字段均为选填：填写您现在要保存的内容（至少一项）。",
    ),
    "choose": ("Choose…", "请选择…"),
    "submit": ("Save and continue", "保存并继续"),
    "skip": ("Skip this step", "跳过此步"),
    "finish": ("I'm done", "我已完成"),
    # the box of what is sent where
    "sends_title": ("What is sent where", "发送内容与去向"),
    "sends_intro": (
        "When you press **Save and continue**, kyc-mcp sends this step's details straight to the KYC service:",
        "当您点击 **保存并继续** 时，kyc-mcp 会将此步骤的信息直接发送到 KYC 服务：",
    ),
    "consent": (
        "Pressing Save and continue is your consent to send them. Nothing you enter here goes to the assistant: "
        "it only learns what was stored, with identity numbers masked.",
        "点击“保存并继续”即表示您同意发送这些信息。您在此输入的内容不会发送给助手：助手只会得知保存了哪些内容，"
        "证件号码会被遮盖。",
    ),
    # the steps
    "title.profile": ("Your profile", "个人资料"),
    "intro.profile": (
        "Your name, date of birth, contact details and home address, as on your identity document.",
        "请按证件上的信息填写姓名、出生日期、联系方式和住址。",
    ),
    "title.document": ("Your identity document", "身份证件"),
    "intro.document": (
        "The kind of identity document you will use, and its number.",
        "您将使用的身份证件类型及其号码。",
    ),
    "title.documents": ("Upload your documents", "上传证件文件"),
    "intro.documents": (
        "Photos or scans of your identity document, a selfie, and a proof of address. Choose at least one file: "
        "JPEG, PNG or PDF, up to 15 MB each. On a phone you can take the photo with the camera.",
        "请上传身份证件的照片或扫描件、自拍照和住址证明。至少选择一个文件：JPEG、PNG 或 PDF，每个不超过 15 MB。"
        "在手机上可以直接用相机拍照。",
    ),
    "title.cardholder": ("Cardholder verification", "持卡人验证"),
    "intro.cardholder": (
        "Your identity document, its number, your name as written on it, and images of the document.",
        "请填写身份证件类型、号码、证件上的姓名，并上传证件图片。",
    ),
    # profile fields
    "label.english_first_name": ("Given name (in English)", "名（英文）"),
    "label.english_last_name": ("Family name (in English)", "姓（英文）"),
    "label.dob": ("Date of birth", "出生日期"),
    "label.gender": ("Gender", "性别"),
    "label.nationality": ("Nationality", "国籍"),
    "label.occupation": ("Occupation", "职业"),
    "label.source_of_fund": ("Source of funds", "资金来源"),
    "hint.source_of_fund": ("For example: Salary, Savings, Business income.", "例如：工资、储蓄、经营收入。"),
    "label.phone_number": ("Phone number", "电话号码"),
    "hint.phone_number": ("Digits only, without the country code.", "仅填数字，不含国家区号。"),
    "label.phone_country_code": ("Phone country code", "电话国家区号"),
    "hint.phone_country_code": ("With the leading +, for example +65.", "以 + 开头，例如 +65。"),
    "label.passport": ("Passport number", "护照号码"),
    "label.nric": ("National ID (NRIC) number", "身份证（NRIC）号码"),
    "hint.nric": ("If you have one.", "如有请填写。"),
    "label.country": ("Country of residence", "居住国家"),
    "label.address1": ("Address, line 1", "地址第 1 行"),
    "label.address2": ("Address, line 2", "地址第 2 行"),
    "label.address3": ("Address, line 3", "地址第 3 行"),
    "label.city": ("City", "城市"),
    "label.state": ("State or region", "州/省/地区"),
    "label.zip": ("Postal code", "邮政编码"),
    "label.billing_same_as_home": ("Billing address is the home address", "账单地址与住址相同"),
    "hint.country_code": ("Two-letter country code, for example SG.", "两个字母的国家代码，例如 SG。"),
    # identity document
    "label.identity_type": ("Document type", "证件类型"),
    "label.id_number": ("Document number", "证件号码"),
    "hint.id_number": ("As printed on the document.", "与证件上印刷的一致。"),
    # uploads (MasterPay document types)
    "label.PassportFront": ("Passport: photo page", "护照：个人资料页"),
    "label.PassportBack": ("Passport: back", "护照：背面"),
    "label.NationalIdFront": ("National ID card: front", "身份证：正面"),
    "label.NationalIdBack": ("National ID card: back", "身份证：背面"),
    "label.DrivingLicenseFront": ("Driving licence: front", "驾驶证：正面"),
    "label.DrivingLicenseBack": ("Driving licence: back", "驾驶证：背面"),
    "label.Selfie": ("Selfie", "自拍照"),
    "hint.Selfie": (
        "A clear photo of your face; on a phone, the front camera opens.",
        "清晰的面部照片；在手机上会打开前置摄像头。",
    ),
    "label.ProofOfAddress": ("Proof of address", "住址证明"),
    "hint.ProofOfAddress": (
        "A recent utility bill or bank statement showing your name and address.",
        "近期的水电费账单或银行对账单，需显示您的姓名和地址。",
    ),
    "hint.file": ("JPEG, PNG or PDF, up to 15 MB.", "JPEG、PNG 或 PDF，不超过 15 MB。"),
    "choose_again": (
        "Files are not kept when the form is shown again: choose them again before you save.",
        "表单重新显示时不会保留已选文件：保存前请重新选择。",
    ),
    # cardholder
    "label.document_type": ("Document type", "证件类型"),
    "label.number_id": ("Document number", "证件号码"),
    "label.first_name": ("Given name", "名"),
    "hint.first_name": ("Letters only, as on the document.", "仅限字母，与证件一致。"),
    "label.last_name": ("Family name", "姓"),
    "hint.last_name": ("Letters only, as on the document.", "仅限字母，与证件一致。"),
    "label.date_of_birth": ("Date of birth", "出生日期"),
    "hint.date_of_birth": ("You must be at least 18.", "您必须年满 18 周岁。"),
    "label.issue_date": ("Issue date", "签发日期"),
    "label.expire_date": ("Expiry date", "有效期至"),
    "label.country_id": ("Country id", "国家编号"),
    "hint.country_id": ("The platform's numeric country id, if you know it.", "平台的数字国家编号（如知道）。"),
    "label.front": ("Document: front", "证件：正面"),
    "label.back": ("Document: back", "证件：背面"),
    "hint.back": ("Required for a national ID card.", "身份证必须上传背面。"),
    "label.photo": ("Selfie or supporting photo", "自拍或辅助照片"),
    "hint.photo": ("Optional.", "选填。"),
    # choices
    "choice.yes": ("Yes", "是"),
    "choice.no": ("No", "否"),
    "choice.male": ("Male", "男"),
    "choice.female": ("Female", "女"),
    "choice.MALE": ("Male", "男"),
    "choice.FEMALE": ("Female", "女"),
    "choice.passport": ("Passport", "护照"),
    "choice.identity_card": ("National ID card", "身份证"),
    "choice.visa": ("Visa", "签证"),
    "choice.id_number": ("National ID card", "身份证"),
    "choice.GovernmentOfficers": ("Government officer", "政府官员"),
    "choice.GovernmentWorkers": ("Government worker", "政府工作人员"),
    "choice.SoeAndStateOrganExecutives": ("State enterprise or organ executive", "国企或国家机关管理人员"),
    "choice.SoeAndStateOrganEmployees": ("State enterprise or organ employee", "国企或国家机关员工"),
    "choice.PrivateBusinessOwnersAndExecutives": ("Private business owner or executive", "私营企业主或管理人员"),
    "choice.PrivateBusinessEmployees": ("Private business employee", "私营企业员工"),
    "choice.NonGovernmentOrganizationExecutives": ("NGO executive", "非政府组织管理人员"),
    "choice.NonGovernmentOrganizationEmployees": ("NGO employee", "非政府组织员工"),
    "choice.SoleTraders": ("Sole trader", "个体经营者"),
    "choice.Retirees": ("Retired", "退休人员"),
    "choice.Students": ("Student", "学生"),
    "choice.Unemployed": ("Unemployed", "无业"),
    "choice.Freelancer": ("Freelancer", "自由职业者"),
    # alerts
    "check_fields": ("Check the fields marked below. Nothing was sent.", "请检查下方标出的字段。未发送任何内容。"),
    "problem": ("This step was not saved.", "此步骤未保存。"),
    "detail_in_english": ("", "详细信息（英文）："),
    # other pages
    "done_title": ("Done", "已完成"),
    "done_heading": ("Thank you: your details are saved.", "谢谢：您的信息已保存。"),
    "done_nothing": ("Nothing was saved on this page.", "此页面未保存任何内容。"),
    "done_stored": ("Saved:", "已保存："),
    "done_body": (
        "You can close this tab and return to the assistant.",
        "您可以关闭此标签页并返回助手。",
    ),
    "gone_title": ("Link ended", "链接已失效"),
    "gone_heading": ("This link has ended or is not valid.", "此链接已失效或无效。"),
    "gone_body": ("Ask the assistant for a new one.", "请让助手为您提供新的链接。"),
    "forbidden_title": ("Not allowed", "不允许"),
    "forbidden_heading": ("This form could not be verified, so nothing was sent.", "无法验证此表单，未发送任何内容。"),
    "forbidden_body": (
        "Open the link from your conversation again in this browser, then fill in the form on that page.",
        "请在此浏览器中重新打开对话中的链接，然后在该页面上填写表单。",
    ),
    "problem_title": ("Problem", "问题"),
    "too_large_heading": ("The form was too large, so nothing was sent.", "表单内容过大，未发送任何内容。"),
    "unsupported_heading": (
        "The form was sent in a format this page does not accept, so nothing was sent.",
        "表单的提交格式不受支持，未发送任何内容。",
    ),
    "malformed_heading": ("The form could not be read, so nothing was sent.", "无法读取表单，未发送任何内容。"),
    "try_again": (
        "Go back to the page, choose smaller files (at most 15 MB each), and try again.",
        "请返回页面，选择较小的文件（每个不超过 15 MB）后重试。",
    ),
    "crashed_heading": ("The page met an internal error.", "页面发生内部错误。"),
    "crashed_body": (
        "Go back and try again, or ask the assistant for a new link.",
        "请返回重试，或让助手提供新的链接。",
    ),
}


def text(key: str, lang: Lang) -> str:
    """The sentence `key` in `lang`."""
    english, chinese = STRINGS[key]
    return chinese if lang == "zh" else english


def choice_label(value: str, lang: Lang) -> str:
    """A choice's label: its own when it has one, else the value, a CamelCase one split into words."""
    if f"choice.{value}" in STRINGS:
        return text(f"choice.{value}", lang)
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", value).replace("_", " ")
    return words[:1].upper() + words[1:].lower() if words != value or "_" in value else value
