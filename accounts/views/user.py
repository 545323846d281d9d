# PLACEHOLDER: replaced by the user page and its actions (helper). Must not land.
from django.http import Http404


def user_detail(request, public_id):
    raise Http404


edit_user = reset_password = deactivate_user = reactivate_user = delete_user = user_detail
