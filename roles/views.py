# PLACEHOLDER: replaced by Edit roles (helper). Must not land.
from django.http import Http404


def edit_roles(request, public_id):
    raise Http404
