# Seeds the tenantfuzz field-trial accounts into a fresh Mayan EDMS database.
# Run by setup.sh through `mayan-edms.py shell`; it is not part of Mayan EDMS.
#
# Tenancy, the way a Mayan administrator sets it up with groups, roles and ACLs:
#   group acme   -> role acme-members   -> ACL on document type "acme-documents"
#   group globex -> role globex-members -> ACL on document type "globex-documents"
# The ACL on a document type is inherited by its documents and everything under them
# (files, versions, pages, comments, metadata, ...). The tags "urgent" and "archived" and the
# metadata type "reference" are a company-wide catalogue kept by the administrator: ACLs on
# them let both roles view, attach and remove the tags and use the metadata type; members
# cannot create, edit or delete catalogue entries. Roles get no global permission (a global
# permission applies to every object, other tenants' documents included). "admin" is a
# superuser.
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from rest_framework.authtoken.models import Token

from mayan.apps.acls.classes import ModelPermission
from mayan.apps.acls.models import AccessControlList
from mayan.apps.documents.models import DocumentType
from mayan.apps.metadata.models import MetadataType
from mayan.apps.permissions.classes import Permission
from mayan.apps.permissions.models import Role
from mayan.apps.tags.models import Tag

User = get_user_model()

PASSWORDS = {
    'admin': os.environ.get('TFZ_ADMIN_PASSWORD', 'admin-field-pw-18108'),
    'alice': os.environ.get('TFZ_ALICE_PASSWORD', 'alice-field-pw-18108'),
    'bob': os.environ.get('TFZ_BOB_PASSWORD', 'bob-field-pw-18108'),
}

# Permissions of a tenant's members on their own document type (and so on its documents).
# Left out: administering the document type itself, emptying the trash.
DOCUMENT_TYPE_EXCLUDED = {
    'documents_types.document_type_delete', 'documents_types.document_type_edit',
    'documents.document_empty_trash', 'acls.acl_edit', 'acls.acl_view',
    'document_parsing.document_type_setup', 'ocr.ocr_document_type_setup',
    'file_metadata.file_metadata_document_type_setup', 'quotas.quota_edit',
    'file_caching.file_caching_cache_partition_purge', 'templating.template_sandbox',
    'events.events_clear', 'logging.error_log_delete',
    'checkouts.checkin_document_override',
}
TAG_PERMISSIONS = ('tags.tag_view', 'tags.tag_attach', 'tags.tag_remove')
METADATA_TYPE_PERMISSIONS = (
    'metadata_setup.metadata_type_view', 'metadata.metadata_document_add',
    'metadata.metadata_document_edit', 'metadata.metadata_document_remove',
    'metadata.metadata_document_view',
)

admin, _ = User.objects.get_or_create(username='admin')
admin.is_superuser = True
admin.is_staff = True
admin.email = 'admin@platform.test'
admin.set_password(PASSWORDS['admin'])
admin.save()

metadata_type, _ = MetadataType.objects.get_or_create(
    name='reference', defaults={'label': 'Reference'}
)
tags = [
    Tag.objects.get_or_create(label=label, defaults={'color': '#ff0000'})[0]
    for label in ('urgent', 'archived')
]

granted_names = None
for tenant, username in (('acme', 'alice'), ('globex', 'bob')):
    user, _ = User.objects.get_or_create(username=username)
    user.email = '{}@{}.test'.format(username, tenant)
    user.first_name = username.capitalize()
    user.set_password(PASSWORDS[username])
    user.save()

    group, _ = Group.objects.get_or_create(name=tenant)
    group.user_set.add(user)

    role, _ = Role.objects.get_or_create(label='{}-members'.format(tenant))
    role.groups.add(group)
    for tag in tags:
        for pk in TAG_PERMISSIONS:
            AccessControlList.objects.grant(
                permission=Permission.get(pk=pk), role=role, obj=tag
            )
    for pk in METADATA_TYPE_PERMISSIONS:
        AccessControlList.objects.grant(
            permission=Permission.get(pk=pk), role=role, obj=metadata_type
        )

    document_type, _ = DocumentType.objects.get_or_create(
        label='{}-documents'.format(tenant)
    )
    document_type.metadata.get_or_create(metadata_type=metadata_type)

    names = []
    for permission in ModelPermission.get_for_class(klass=DocumentType):
        if permission.pk in DOCUMENT_TYPE_EXCLUDED:
            continue
        AccessControlList.objects.grant(
            permission=permission, role=role, obj=document_type
        )
        names.append(permission.pk)
    granted_names = names

    Token.objects.get_or_create(user=user)

Token.objects.get_or_create(user=admin)
print('seeded; document type ACL permissions:', ' '.join(sorted(granted_names)))
